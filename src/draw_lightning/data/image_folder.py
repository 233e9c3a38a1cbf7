"""A folder of class folders of images (``root/<class>/<image>``), grey or RGB, at a fixed H x W."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image
from torch.utils.data import Dataset, Subset
from torchvision import datasets, transforms
from torchvision.transforms import functional as TF

from draw_lightning.data.base import DrawDataModule
from draw_lightning.data.splits import check_splits_nonempty, split_indices

__all__ = ["CoverResize", "ImageFolderDataModule"]


class CoverResize:
    """Resize so the image covers ``height`` x ``width`` (aspect kept), then centre-crop to it."""

    def __init__(self, *, height: int, width: int) -> None:
        self.height, self.width = height, width

    def __call__(self, image: Image.Image) -> Image.Image:
        scale = max(self.height / image.height, self.width / image.width)
        size = [max(self.height, math.ceil(image.height * scale)), max(self.width, math.ceil(image.width * scale))]
        return TF.center_crop(TF.resize(image, size, antialias=True), [self.height, self.width])


class ImageLoader:
    """Opens one image as grey (``L``) or RGB, naming the file when it cannot be read."""

    def __init__(self, *, mode: str) -> None:
        self.mode = mode

    def __call__(self, path: str) -> Image.Image:
        try:
            with Image.open(path) as image:
                return image.convert(self.mode)
        except (OSError, SyntaxError, ValueError) as err:
            raise ValueError(
                f"image folder: cannot read {path} as an image ({err}); expected a file Pillow can open "
                f"(png, jpg, ...): remove or replace it"
            ) from err


class ImageFolderDataModule(DrawDataModule):
    """torchvision ``ImageFolder`` at ``root``: images resized to cover ``height`` x ``width`` and
    centre-cropped (non-square allowed), ``channels`` 1 (grey) or 3 (RGB); labels are the class
    folders in sorted order. Split train/val/test by ``seed``."""

    def __init__(
        self,
        *,
        root: str,
        height: int,
        width: int,
        channels: int = 3,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 (grey) or 3 (RGB), got {channels}")
        if height < 1 or width < 1:
            raise ValueError(f"data.height and data.width must be >= 1, got {height} x {width}")
        split_indices(2, val_fraction=val_fraction, test_fraction=test_fraction, seed=0)  # range checks only
        self.root = Path(root).expanduser()
        self.height, self.width, self.channels = height, width, channels
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def folder(self) -> datasets.ImageFolder:
        """The whole folder as one dataset of ``(image (C, H, W), class index)``."""
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"data.root: image folder {self.root} does not exist (expected root/<class>/<image>)"
            )
        return datasets.ImageFolder(
            str(self.root),
            loader=ImageLoader(mode="L" if self.channels == 1 else "RGB"),
            transform=transforms.Compose([CoverResize(height=self.height, width=self.width), transforms.ToTensor()]),
        )

    def build_splits(self) -> dict[str, Dataset]:
        folder = self.folder()
        parts = split_indices(
            len(folder), val_fraction=self.val_fraction, test_fraction=self.test_fraction, seed=self.seed
        )
        check_splits_nonempty({k: len(v) for k, v in parts.items()}, what=f"image folder {self.root}")
        return {split: Subset(folder, index.tolist()) for split, index in parts.items()}
