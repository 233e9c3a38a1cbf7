"""Datasets of uint8 images read a batch at a time, returned as floats in [0, 1], optionally binarised.

``__getitems__`` (used by the DataLoader for a whole batch of indices) turns one batch into one
vectorised read, instead of one Python call per image.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["BINARIZATIONS", "ArrayImageDataset", "BatchImageDataset"]

# none: grey levels; threshold: pixel > 1/2; bernoulli: pixel ~ Bernoulli(grey level).
BINARIZATIONS = ("none", "threshold", "bernoulli")


class BatchImageDataset(Dataset):
    """Base: subclasses implement :meth:`read` for a batch of indices.

    ``binarization="bernoulli"`` samples each image from ``(seed, stream, epoch, index)``: training
    sets (``resample_each_epoch``) get a fresh sample each epoch, val/test always the same one.
    ``stream`` keeps the samples of different splits apart.
    """

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        max_value: int = 255,
        binarization: str = "none",
        seed: int = 0,
        stream: int = 0,
        resample_each_epoch: bool = False,
    ) -> None:
        if binarization not in BINARIZATIONS:
            raise ValueError(f"binarization must be one of {BINARIZATIONS}, got {binarization!r}")
        self.image_shape = tuple(image_shape)
        self.max_value = max_value
        self.binarization = binarization
        self.seed = seed
        self.stream = stream
        self.resample_each_epoch = resample_each_epoch

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 pixels ``(len(indices), C*H*W or C, H, W)`` and int64 labels of ``indices``."""

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Tensor, int]]:
        index = np.asarray(indices, dtype=np.int64).reshape(-1)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"indices out of range for a dataset of {len(self)} images: {index.tolist()}")
        pixels, labels = self.read(index)
        # numpy, not torch: torch's thread pool makes small batch ops slow on a busy CPU
        scaled = np.divide(pixels, np.float32(self.max_value), dtype=np.float32)
        images = torch.from_numpy(scaled).reshape(len(index), *self.image_shape)
        images = self._binarize(images, index, epoch=getattr(indices, "epoch", 0))
        return [(image, int(label)) for image, label in zip(images, labels.tolist(), strict=True)]

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.__getitems__([index])[0]

    def _binarize(self, images: Tensor, index: np.ndarray, *, epoch: int) -> Tensor:
        if self.binarization == "threshold":
            return torch.from_numpy((images.numpy() > 0.5).astype(np.float32))
        if self.binarization == "bernoulli":
            epoch = epoch if self.resample_each_epoch else 0
            size = images[0].numel()
            noise = np.stack(
                [np.random.default_rng([self.seed, self.stream, epoch, int(i)]).random(size, np.float32) for i in index]
            )
            return torch.from_numpy((noise.reshape(images.shape) < images.numpy()).astype(np.float32))
        return images


class ArrayImageDataset(BatchImageDataset):
    """Rows ``rows`` of an in-memory uint8 image array ``(N, C, H, W)`` with labels ``(N,)``."""

    def __init__(self, *, images: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None, **kwargs) -> None:
        super().__init__(image_shape=images.shape[1:], **kwargs)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"images must be a (N, C, H, W) uint8 array, got {images.shape} {images.dtype}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64)
        self.rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = self.rows[indices]
        return self.images[rows], self.labels[rows]
