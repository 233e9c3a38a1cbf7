"""Opening a torchvision dataset, or one file from torchvision's sources, from the data directory or
the cache, downloading when allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from torchvision.datasets.utils import download_url

from draw_lightning.data.locations import download_dir

__all__ = ["locate_file", "open_torchvision"]


def open_torchvision(
    dataset_cls: type[Dataset],
    *,
    data_dir: Path,
    cache_dir: Path,
    download: bool,
    layout: str,
    hint: str = "",
    **kwargs: Any,
) -> Dataset:
    """``dataset_cls(root=..., **kwargs)`` from ``data_dir``, else ``cache_dir``, else downloaded.

    The download goes to ``data_dir`` when writable, else to ``cache_dir``. ``layout`` describes
    the files torchvision expects under a root, and ``hint`` another way to get the data, for the
    error raised when nothing is found.
    """
    roots = [data_dir, cache_dir]
    for root in roots:
        try:
            return dataset_cls(root=str(root), download=False, **kwargs)
        except RuntimeError:  # torchvision's "Dataset not found or corrupted"
            continue
    name = dataset_cls.__name__
    looked = ", ".join(f"{root}/{layout}" for root in roots)
    how = f"put torchvision's {name} files at {data_dir}/{layout} (or set DRAW_DATA_DIR to a folder holding them)"
    how = f"{how}. {hint}" if hint else how
    if not download:
        raise FileNotFoundError(f"{name} not found (looked in {looked}) and data.download is false: {how}")
    target = download_dir(data_dir, cache_dir, "")
    try:
        return dataset_cls(root=str(target), download=True, **kwargs)
    except (OSError, RuntimeError) as err:
        raise FileNotFoundError(
            f"{name} not found (looked in {looked}) and downloading it into {target} failed ({err}): {how}"
        ) from err


def locate_file(
    subdir: str,
    filename: str,
    *,
    data_dir: Path,
    cache_dir: Path,
    download: bool,
    url: str,
    what: str,
    how: str,
    md5: str | None = None,
) -> Path:
    """``<data_dir>/<subdir>/<filename>``, else the same under ``cache_dir``, else downloaded from ``url``.

    The download (checked against ``md5`` when given) goes to ``data_dir`` when writable, else to
    ``cache_dir``. ``what`` names the file and ``how`` says how to provide it by hand, for the
    error raised when it is neither found nor downloaded.
    """
    places = [root / subdir / filename for root in (data_dir, cache_dir)]
    for path in places:
        if path.is_file():
            return path
    looked = " and ".join(str(p) for p in places)
    if not download:
        raise FileNotFoundError(f"{what} not found (looked in {looked}); data.download is false: {how}")
    target = download_dir(data_dir, cache_dir, subdir)
    try:
        download_url(url, str(target), filename=filename, md5=md5)
    except (OSError, RuntimeError) as err:
        raise FileNotFoundError(
            f"{what} not found (looked in {looked}) and downloading {url} into {target} failed ({err}): {how}"
        ) from err
    return target / filename
