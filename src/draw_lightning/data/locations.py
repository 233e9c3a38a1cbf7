"""Where data is read from and where downloads go: the data directory, then a cache directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["CACHE_DIR_ENV", "DATA_DIR_ENV", "download_dir", "resolve_cache_dir", "resolve_data_dir"]

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
