"""Helpers for the datamodule tests: small files written where a test wants them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def write_npy():
    """``write_npy(path, array)``: save ``array`` as .npy at ``path`` (parents created)."""

    def write(path: Path, array: np.ndarray) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)
        return path

    return write


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A cache directory of the test's own: nothing is written to ~/.cache."""
    return tmp_path / "cache"
