"""Opening a torchvision dataset from the data directory or the cache, downloading when allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from draw_lightning.data.locations import download_dir

__all__ = ["open_torchvision"]


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
