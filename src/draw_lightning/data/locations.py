"""Where data is read from and where downloads go: the data directory, then a cache directory;
finding a dataset's files there, or downloading them (torchvision's datasets or single files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from torchvision.datasets.utils import download_url

__all__ = [
    "CACHE_DIR_ENV",
    "DATA_DIR_ENV",
    "download_dir",
    "locate_file",
    "open_torchvision",
    "resolve_cache_dir",
    "resolve_data_dir",
]

DATA_DIR_ENV = "DRAW_DATA_DIR"
CACHE_DIR_ENV = "DRAW_CACHE_DIR"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else ``$DRAW_DATA_DIR``, else ``./data``."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV, "data")
    return Path(data_dir).expanduser()


def resolve_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    """``cache_dir`` if given, else ``$DRAW_CACHE_DIR``, else ``~/.cache/draw_lightning``."""
    if cache_dir is None or str(cache_dir) == "":
        cache_dir = os.environ.get(CACHE_DIR_ENV, "~/.cache/draw_lightning")
    return Path(cache_dir).expanduser()


def is_writable_dir(path: Path) -> bool:
    """Whether files may be created in ``path`` (or in its nearest existing parent).

    Permission bits are honoured even for root, who could otherwise write into a dataset
    folder its owner marked read-only.
    """
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    mode = path.stat().st_mode
    return path.is_dir() and os.access(path, os.W_OK) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def download_dir(data_dir: Path, cache_dir: Path, subdir: str) -> Path:
    """``<data_dir>/<subdir>`` when writable, else ``<cache_dir>/<subdir>``."""
    preferred = data_dir / subdir
    return preferred if is_writable_dir(preferred) else cache_dir / subdir


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
