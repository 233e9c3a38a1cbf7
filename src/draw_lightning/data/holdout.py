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

    Subclasses say how to ``load`` a split as uint8 images ``(N, C, B, A)`` and labels, and may
    add training images beyond the official train set with :meth:`load_extra_train` (never held out).
    """

    def __init__(self, *, val_size: int, download: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.val_size = val_size
        self.download = download

    @abstractmethod
    def load(self, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images ``(N, C, B, A)`` and labels of the official train or test set."""

    def load_extra_train(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Further training images and labels, appended to train only; None (the default): none."""
        return None

    def prepare_data(self) -> None:
        self.load(train=True)
        self.load(train=False)
        self.load_extra_train()

    def build_splits(self) -> dict[str, Dataset]:
        images, labels = self.load(train=True)
        test_images, test_labels = self.load(train=False)
        rows = holdout_indices(len(images), val_size=self.val_size, seed=self.seed)
        val = ArrayImageDataset(images=images, labels=labels, rows=rows["val"])
        train_rows = rows["train"]
        extra = self.load_extra_train()
        if extra is not None:
            extra_images, extra_labels = extra
            train_rows = np.concatenate([train_rows, len(images) + np.arange(len(extra_images))])
            images = np.concatenate([images, extra_images])
            labels = np.concatenate([labels, extra_labels])
        return {
            "train": ArrayImageDataset(images=images, labels=labels, rows=train_rows),
            "val": val,
            "test": ArrayImageDataset(images=test_images, labels=test_labels),
        }
