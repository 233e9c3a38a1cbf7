"""Omniglot characters from Omniglot's own archives (``<subset>.zip``), resized to 28 x 28.

torchvision's ``Omniglot`` class knows only the full ``images_background``/``images_evaluation``
sets; this reads any subset archive (e.g. the small background sets) straight from its zip,
without extracting it, and downloads missing archives from torchvision's Omniglot source.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets

from draw_lightning.data.base import DrawDataModule
from draw_lightning.data.images import ArrayImageDataset
from draw_lightning.data.locations import locate_file
from draw_lightning.data.splits import check_splits_nonempty, split_indices

__all__ = ["OmniglotDataModule", "read_omniglot_zip"]

SMALL_BACKGROUND = ("images_background_small1", "images_background_small2")


def read_omniglot_zip(path: Path, *, size: int) -> tuple[np.ndarray, list[str]]:
    """All PNGs of an archive as uint8 ``(N, 1, size, size)``, strokes bright on black, and each
    image's character (``<alphabet>/<character>``)."""
    images, characters = [], []
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if n.lower().endswith(".png"))
            for name in names:
                parts = name.split("/")
                if len(parts) < 3:
                    raise ValueError(f"{name}: expected <set>/<alphabet>/<character>/<image>.png")
                try:
                    with Image.open(io.BytesIO(archive.read(name))) as image:
                        grey = image.convert("L").resize((size, size), Image.Resampling.BOX)
                except (OSError, SyntaxError, ValueError) as err:
                    raise ValueError(f"{name}: unreadable image ({err})") from err
                # Omniglot draws black strokes on white; DRAW's Bernoulli targets want ink = 1.
                images.append(255 - np.asarray(grey, dtype=np.uint8))
                characters.append("/".join(parts[-3:-1]))
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ValueError(f"Omniglot archive {path}: {err}") from err
    if not images:
        raise ValueError(f"Omniglot archive {path} holds no .png images (expected <set>/<alphabet>/<character>/*.png)")
    return np.stack(images)[:, None], characters


class OmniglotDataModule(DrawDataModule):
    """The images of the ``subsets`` archives, split train/val/test by ``seed``; the label is the
    character's index among all characters of the chosen subsets (sorted by subset, alphabet, name)."""

    def __init__(
        self,
        *,
        subsets: Sequence[str] = SMALL_BACKGROUND,
        image_size: int = 28,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        download: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.subsets = [subsets] if isinstance(subsets, str) else list(subsets)
        if not self.subsets:
            raise ValueError("data.subsets is empty: name at least one Omniglot archive, e.g. images_background_small1")
        if image_size < 1:
            raise ValueError(f"data.image_size must be >= 1, got {image_size}")
        split_indices(2, val_fraction=val_fraction, test_fraction=test_fraction, seed=0)  # range checks only
        self.image_size = image_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.download = download

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, self.image_size, self.image_size)

    def locate(self, subset: str) -> Path:
        """``<subset>.zip`` in ``<data_dir>/omniglot`` or the cache, downloaded when missing and allowed."""
        url = f"{datasets.Omniglot.download_url_prefix}/{subset}.zip"
        return locate_file(
            "omniglot",
            f"{subset}.zip",
            data_dir=self.data_dir,
            cache_dir=self.cache_dir,
            download=self.download,
            url=url,
            what="Omniglot archive",
            how=f"put Omniglot's {subset}.zip in {self.data_dir / 'omniglot'}/ (from {url})",
        )

    def prepare_data(self) -> None:
        for subset in self.subsets:
            self.locate(subset)

    def build_splits(self) -> dict[str, Dataset]:
        images, characters = [], []
        for subset in self.subsets:
            subset_images, subset_characters = read_omniglot_zip(self.locate(subset), size=self.image_size)
            images.append(subset_images)
            characters += [f"{subset}/{c}" for c in subset_characters]
        classes = {name: index for index, name in enumerate(sorted(set(characters)))}
        labels = np.array([classes[c] for c in characters])
        images = np.concatenate(images)
        parts = split_indices(
            len(images), val_fraction=self.val_fraction, test_fraction=self.test_fraction, seed=self.seed
        )
        check_splits_nonempty({k: len(v) for k, v in parts.items()}, what=f"Omniglot {self.subsets}")
        return {split: ArrayImageDataset(images=images, labels=labels, rows=rows) for split, rows in parts.items()}
