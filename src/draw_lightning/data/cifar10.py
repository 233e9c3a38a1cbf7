"""CIFAR-10 (RGB 32x32) through torchvision's ``cifar-10-batches-py`` files.

Offline copies laid out as image folders (like ``$DRAW_DATA_DIR/cifar10/test/<class>/*.jpg``)
go through ``data=cifar10_folder`` (the image-folder datamodule) instead.
"""

from __future__ import annotations

import numpy as np
from torchvision import datasets

from draw_lightning.data.holdout import HoldoutDataModule
from draw_lightning.data.locations import open_torchvision

__all__ = ["CIFAR10DataModule"]


class CIFAR10DataModule(HoldoutDataModule):
    """CIFAR-10's 50k training images split into train/val (``val_size``), its 10k test images."""

    def __init__(self, *, val_size: int = 5_000, **kwargs) -> None:
        super().__init__(val_size=val_size, **kwargs)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, 32, 32)

    def load(self, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images ``(N, 3, 32, 32)`` and labels."""
        dataset = open_torchvision(
            datasets.CIFAR10,
            data_dir=self.data_dir,
            cache_dir=self.cache_dir,
            download=self.download,
            layout="cifar-10-batches-py/",
            hint="A CIFAR-10 copy laid out as class folders of images loads with data=cifar10_folder.",
            train=train,
        )
        return np.ascontiguousarray(dataset.data.transpose(0, 3, 1, 2)), np.asarray(dataset.targets)
