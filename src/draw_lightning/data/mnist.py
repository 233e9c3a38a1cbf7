"""MNIST through torchvision: grey levels in [0, 1] (Bernoulli targets), train split 50k/10k by seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision import datasets

from draw_lightning.data.holdout import HoldoutDataModule
from draw_lightning.data.locations import open_torchvision

__all__ = ["MNISTDataModule", "load_mnist"]


def load_mnist(
    dataset_cls: type[datasets.MNIST] = datasets.MNIST, *, data_dir: Path, cache_dir: Path, download: bool, train: bool
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``(N, 1, 28, 28)`` and labels of the official train or test set of torchvision's
    ``dataset_cls`` (MNIST or a set in its format, like FashionMNIST), found or downloaded by
    :func:`~draw_lightning.data.locations.open_torchvision`."""
    dataset = open_torchvision(
        dataset_cls,
        data_dir=data_dir,
        cache_dir=cache_dir,
        download=download,
        layout=f"{dataset_cls.__name__}/raw/",
        train=train,
    )
    return dataset.data.numpy()[:, None], dataset.targets.numpy()


class MNISTDataModule(HoldoutDataModule):
    """torchvision's MNIST: 60k training images split into train/val (``val_size``), 10k test."""

    dataset_cls: type[datasets.MNIST] = datasets.MNIST

    def __init__(self, *, val_size: int = 10_000, **kwargs) -> None:
        super().__init__(val_size=val_size, **kwargs)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, 28, 28)

    def load(self, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images ``(N, 1, 28, 28)`` and labels of the official train or test set."""
        return load_mnist(
            self.dataset_cls, data_dir=self.data_dir, cache_dir=self.cache_dir, download=self.download, train=train
        )
