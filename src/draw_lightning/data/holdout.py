"""Datasets with an official train/test split: a seeded validation hold-out of the train set."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from torch.utils.data import Dataset

from draw_lightning.data.base import DrawDataModule
from draw_lightning.data.images import ArrayImageDataset
from draw_lightning.data.splits import holdout_indices

__all__ = ["HoldoutDataModule"]


class HoldoutDataModule(DrawDataModule):
    """Train/val from the official train set (``val_size`` held out by ``seed``), test as published.

    Subclasses say how to ``load`` a split as uint8 images ``(N, C, B, A)`` and labels.
    """

    def __init__(self, *, val_size: int, download: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.val_size = val_size
        self.download = download

    @abstractmethod
    def load(self, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images ``(N, C, B, A)`` and labels of the official train or test set."""

    def prepare_data(self) -> None:
        self.load(train=True)
        self.load(train=False)

    def build_splits(self) -> dict[str, Dataset]:
        images, labels = self.load(train=True)
        test_images, test_labels = self.load(train=False)
        rows = holdout_indices(len(images), val_size=self.val_size, seed=self.seed)
        return {
            "train": ArrayImageDataset(images=images, labels=labels, rows=rows["train"]),
            "val": ArrayImageDataset(images=images, labels=labels, rows=rows["val"]),
            "test": ArrayImageDataset(images=test_images, labels=test_labels),
        }
