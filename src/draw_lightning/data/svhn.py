"""SVHN (RGB 32x32) through torchvision, from its ``{train,test,extra}_32x32.mat`` files."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset
from torchvision import datasets

from draw_lightning.data.base import DrawDataModule
from draw_lightning.data.images import ArrayImageDataset
from draw_lightning.data.splits import holdout_indices
from draw_lightning.data.torchvision_sets import open_torchvision

__all__ = ["SVHNDataModule"]


class SVHNDataModule(DrawDataModule):
    """SVHN's train set split into train/val (``val_size``), its test set; ``use_extra`` adds the
    531k ``extra`` images to training. Labels are digits 0-9 (torchvision maps SVHN's 10 to 0)."""

    def __init__(self, *, val_size: int = 5_000, use_extra: bool = False, download: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.val_size = val_size
        self.use_extra = use_extra
        self.download = download

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, 32, 32)

    def prepare_data(self) -> None:
        for split in self._official_splits():
            self.load(split)

    def _official_splits(self) -> list[str]:
        return ["train", "test"] + (["extra"] if self.use_extra else [])

    def load(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images ``(N, 3, 32, 32)`` and labels of one of SVHN's files."""
        dataset = open_torchvision(
            datasets.SVHN,
            data_dir=self.data_dir,
            cache_dir=self.cache_dir,
            download=self.download,
            layout=f"{split}_32x32.mat",
            split=split,
        )
        return dataset.data, np.asarray(dataset.labels, dtype=np.int64)

    def build_splits(self) -> dict[str, Dataset]:
        images, labels = self.load("train")
        rows = holdout_indices(len(images), val_size=self.val_size, seed=self.seed)
        val = ArrayImageDataset(images=images, labels=labels, rows=rows["val"])
        test_images, test_labels = self.load("test")
        test = ArrayImageDataset(images=test_images, labels=test_labels)
        train_rows = rows["train"]
        if self.use_extra:
            extra_images, extra_labels = self.load("extra")
            train_rows = np.concatenate([train_rows, len(images) + np.arange(len(extra_images))])
            images = np.concatenate([images, extra_images])
            labels = np.concatenate([labels, extra_labels])
        train = ArrayImageDataset(images=images, labels=labels, rows=train_rows)
        return {"train": train, "val": val, "test": test}
