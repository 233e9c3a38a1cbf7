"""Deterministic index splits by seed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["check_splits_nonempty", "holdout_indices", "split_indices"]


def split_indices(
    n: int, *, val_fraction: float, test_fraction: float, seed: int | Sequence[int]
) -> dict[str, np.ndarray]:
    """Sorted train/val/test indices of ``n`` items, drawn by ``seed`` (sorted: reads stay local)."""
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"data.{key} must lie in (0, 1), got {value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"data.val_fraction + data.test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    parts = {"train": order[n_val + n_test :], "val": order[:n_val], "test": order[n_val : n_val + n_test]}
    return {split: np.sort(index) for split, index in parts.items()}


def holdout_indices(n: int, *, val_size: int, seed: int) -> dict[str, np.ndarray]:
    """Sorted train/val indices: ``val_size`` of ``n`` items held out for validation by ``seed``."""
    if not 0 < val_size < n:
        raise ValueError(f"data.val_size must lie in (0, {n}) for a training set of {n} images, got {val_size}")
    order = np.random.default_rng(seed).permutation(n)
    return {"train": np.sort(order[val_size:]), "val": np.sort(order[:val_size])}


def check_splits_nonempty(sizes: dict[str, int], *, what: str) -> None:
    """Raise naming ``what`` when a split came out empty (too few items for the fractions)."""
    empty = [split for split, size in sizes.items() if size == 0]
    if empty:
        raise ValueError(f"{what}: the {' and '.join(empty)} split would be empty (split sizes {sizes})")
