"""Binarized MNIST: Larochelle & Murray's fixed binarization, or MNIST re-binarized each epoch."""

from __future__ import annotations

import zipfile

import numpy as np
from torch.utils.data import Dataset

from draw_lightning.data.base import DrawDataModule
from draw_lightning.data.images import ArrayImageDataset
from draw_lightning.data.mnist import load_mnist
from draw_lightning.data.splits import holdout_indices

__all__ = ["BINARIZED_MNIST_FILE", "BinarizedMNISTDataModule", "NO_LABEL", "load_static_binarized_mnist"]

BINARIZED_MNIST_FILE = "binarized_mnist/binarized_mnist.npz"
# The static set has no labels: every image gets this one.
NO_LABEL = -1
STATIC_SPLITS = {"train": "train", "val": "valid", "test": "test"}


def load_static_binarized_mnist(path) -> dict[str, np.ndarray]:
    """The ``train``/``valid``/``test`` arrays of the .npz, each checked to be (N, 784) 0/1 uint8."""
    if not path.is_file():
        raise FileNotFoundError(
            f"binarized MNIST file {path} not found: put Larochelle & Murray's fixed binarization there "
            f"as an .npz with arrays train, valid, test of shape (N, 784), or use binarization=dynamic"
        )
    try:
        archive = np.load(path, allow_pickle=False)
        arrays = {key: archive[key] for key in STATIC_SPLITS.values() if key in archive.files}
        files = archive.files
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz file ({err})") from err
    missing = [key for key in STATIC_SPLITS.values() if key not in arrays]
    if missing:
        raise ValueError(f"{path}: missing array(s) {missing}; expected keys train, valid, test, found {files}")
    for key, array in arrays.items():
        binary = array.dtype.kind in "biu" and array.size and array.min() >= 0 and array.max() <= 1
        if array.ndim != 2 or array.shape[1] != 784 or not binary:
            values = f"values in [{array.min()}, {array.max()}]" if array.size else "no values"
            raise ValueError(
                f"{path}[{key!r}]: expected an (N, 784) integer array of 0/1 values, "
                f"got shape {array.shape} dtype {array.dtype} with {values}"
            )
    return {key: array.astype(np.uint8) for key, array in arrays.items()}


class BinarizedMNISTDataModule(DrawDataModule):
    """``binarization="static"``: the fixed 50k/10k/10k set of ``<data_dir>/binarized_mnist/``
    (DRAW's 80.97 nats benchmark), labels all :data:`NO_LABEL`. ``"dynamic"``: torchvision MNIST,
    training images Bernoulli-sampled afresh each epoch, val/test sampled once by ``seed``."""

    def __init__(self, *, binarization: str = "static", val_size: int = 10_000, download: bool = True, **kwargs):
        super().__init__(**kwargs)
        if binarization not in ("static", "dynamic"):
            raise ValueError(f"data.binarization must be static or dynamic, got {binarization!r}")
        self.binarization = binarization
        self.val_size = val_size
        self.download = download

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, 28, 28)

    def build_splits(self) -> dict[str, Dataset]:
        return self._static_splits() if self.binarization == "static" else self._dynamic_splits()

    def _static_splits(self) -> dict[str, Dataset]:
        arrays = load_static_binarized_mnist(self.data_dir / BINARIZED_MNIST_FILE)
        splits = {}
        for split, key in STATIC_SPLITS.items():
            images = arrays[key].reshape(-1, 1, 28, 28)
            labels = np.full(len(images), NO_LABEL)
            splits[split] = ArrayImageDataset(images=images, labels=labels, max_value=1)
        return splits

    def _mnist(self, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
        return load_mnist(data_dir=self.data_dir, cache_dir=self.cache_dir, download=self.download, train=train)

    def _dynamic_splits(self) -> dict[str, Dataset]:
        images, labels = self._mnist(train=True)
        test_images, test_labels = self._mnist(train=False)
        rows = holdout_indices(len(images), val_size=self.val_size, seed=self.seed)
        common = {"binarization": "bernoulli", "seed": self.seed}
        return {
            "train": ArrayImageDataset(
                images=images, labels=labels, rows=rows["train"], stream=0, resample_each_epoch=True, **common
            ),
            "val": ArrayImageDataset(images=images, labels=labels, rows=rows["val"], stream=1, **common),
            "test": ArrayImageDataset(images=test_images, labels=test_labels, stream=2, **common),
        }
