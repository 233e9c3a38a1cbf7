"""SVHN (RGB 32x32) from its own ``{train,test,extra}_32x32.mat`` files.

The files are read here (as torchvision does, with scipy) rather than through torchvision's
``SVHN`` class, whose md5 check rejects any other copy of the format; torchvision's URLs and
checksums are still what a download uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision import datasets

from draw_lightning.data.holdout import HoldoutDataModule
from draw_lightning.data.locations import locate_file

__all__ = ["SVHNDataModule", "read_svhn_mat"]


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``(N, 3, 32, 32)`` and digit labels 0-9 of one SVHN file (its 10 means 0)."""
    import scipy.io  # only SVHN needs scipy

    try:
        mat = scipy.io.loadmat(str(path))
    except (OSError, ValueError, TypeError, scipy.io.matlab.MatReadError) as err:
        raise ValueError(f"{path} is not a readable MATLAB .mat file ({err})") from err
    if "X" not in mat or "y" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{path}: expected arrays X and y (SVHN's format), found {found}")
    images, labels = mat["X"], mat["y"].reshape(-1)
    if images.dtype != np.uint8 or images.shape[:3] != (32, 32, 3) or images.ndim != 4:
        raise ValueError(f"{path}: X must be a (32, 32, 3, N) uint8 array, got {images.shape} {images.dtype}")
    if len(labels) != images.shape[3] or labels.size and (labels.min() < 1 or labels.max() > 10):
        raise ValueError(
            f"{path}: y must hold {images.shape[3]} labels in 1..10, got {len(labels)} in "
            f"[{labels.min() if labels.size else '-'}, {labels.max() if labels.size else '-'}]"
        )
    return np.ascontiguousarray(images.transpose(3, 2, 0, 1)), (labels % 10).astype(np.int64)


class SVHNDataModule(HoldoutDataModule):
    """SVHN's train set split into train/val (``val_size``), its test set; ``use_extra`` adds the
    531k ``extra`` images to training. Files: ``<data_dir>/svhn/<split>_32x32.mat`` (or cache_dir)."""

    def __init__(self, *, val_size: int = 5_000, use_extra: bool = False, **kwargs) -> None:
        super().__init__(val_size=val_size, **kwargs)
        self.use_extra = use_extra

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (3, 32, 32)

    def _official_splits(self) -> list[str]:
        return ["train", "test"] + (["extra"] if self.use_extra else [])

    def locate(self, split: str) -> Path:
        """``<split>_32x32.mat``, downloaded from torchvision's source when missing and allowed."""
        url, filename, md5 = datasets.SVHN.split_list[split]
        return locate_file(
            "svhn",
            filename,
            data_dir=self.data_dir,
            cache_dir=self.cache_dir,
            download=self.download,
            url=url,
            md5=md5,
            what="SVHN file",
            how=f"put SVHN's {filename} (from {url}) in {self.data_dir / 'svhn'}/",
        )

    def prepare_data(self) -> None:
        # locating (downloading) is enough: no need to read the .mat files here
        for split in self._official_splits():
            self.locate(split)

    def load(self, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
        """uint8 images ``(N, 3, 32, 32)`` and labels of SVHN's train or test file."""
        return read_svhn_mat(self.locate("train" if train else "test"))

    def load_extra_train(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The 531k ``extra`` images when ``use_extra``."""
        return read_svhn_mat(self.locate("extra")) if self.use_extra else None
