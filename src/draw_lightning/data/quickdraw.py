"""Google Quick, Draw! numpy bitmaps (``<category>.npy``, (N, 784) uint8), memory-mapped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from draw_lightning.data.base import DrawDataModule, split_indices

__all__ = ["QuickDrawDataModule", "QuickDrawDataset", "load_bitmaps"]

SIDE = 28


def load_bitmaps(path: Path) -> np.ndarray:
    """Memory-map one category file, checking it is Google's (N, 784) uint8 format."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Quick, Draw! file {path} not found. Put Google's numpy bitmap "
            f"(quickdraw_dataset/full/numpy_bitmap/{path.name}) there, or set DRAW_DATA_DIR "
            f"to a folder holding quickdraw/{path.name}"
        )
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npy file: {err}") from err
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != SIDE * SIDE:
        raise ValueError(
            f"{path}: expected a (N, {SIDE * SIDE}) uint8 array (Google's numpy bitmap format), "
            f"got shape {array.shape} dtype {array.dtype}"
        )
    return array


class QuickDrawDataset(Dataset):
    """Rows ``indices`` of memory-mapped category arrays, as ``(1, 28, 28)`` floats in [0, 1]."""

    def __init__(self, arrays: Sequence[np.ndarray], rows: Tensor, labels: Tensor) -> None:
        self.arrays = arrays
        self.rows = rows
        self.labels = labels

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        label = int(self.labels[index])
        pixels = np.asarray(self.arrays[label][int(self.rows[index])], dtype=np.float32)
        return torch.from_numpy(pixels / 255.0).view(1, SIDE, SIDE), label


class QuickDrawDataModule(DrawDataModule):
    """Quick, Draw! categories read from ``<data_dir>/quickdraw/<category>.npy``.

    Each category is split train/val/test by ``seed``; the label is the category index.
    """

    def __init__(
        self,
        *,
        categories: Sequence[str] = ("cat",),
        max_per_category: int | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        categories = list(categories)
        if not categories:
            raise ValueError("data.categories is empty: name at least one Quick, Draw! category")
        self.categories = categories
        self.max_per_category = max_per_category
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, SIDE, SIDE)

    def build_splits(self) -> dict[str, Dataset]:
        root = self.data_dir / "quickdraw"
        arrays = [load_bitmaps(root / f"{name}.npy") for name in self.categories]
        rows = {split: [] for split in ("train", "val", "test")}
        labels = {split: [] for split in ("train", "val", "test")}
        for label, array in enumerate(arrays):
            n = len(array) if self.max_per_category is None else min(len(array), self.max_per_category)
            parts = split_indices(
                n, val_fraction=self.val_fraction, test_fraction=self.test_fraction, seed=self.seed + label
            )
            for split, index in parts.items():
                rows[split].append(index)
                labels[split].append(torch.full_like(index, label))
        return {split: QuickDrawDataset(arrays, torch.cat(rows[split]), torch.cat(labels[split])) for split in rows}
