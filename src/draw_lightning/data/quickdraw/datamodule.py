"""Google Quick, Draw! numpy bitmaps (``<category>.npy``, (N, 784) uint8), any number of categories.

Files are read row by row from disk (see :mod:`~draw_lightning.data.quickdraw.bitmaps`), so the
full 50-million-drawing set fits; only the split indices (4 bytes per drawing) live in memory.
"""

from __future__ import annotations

import logging
import urllib.error
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from draw_lightning.data.base import DrawDataModule
from draw_lightning.data.images import BatchImageDataset
from draw_lightning.data.locations import download_dir
from draw_lightning.data.quickdraw.bitmaps import SIDE, BitmapFile
from draw_lightning.data.quickdraw.categories import check_categories
from draw_lightning.data.quickdraw.download import QUICKDRAW_URL, DownloadError, category_url, download_bitmaps
from draw_lightning.data.splits import check_splits_nonempty, split_indices

__all__ = ["QuickDrawDataModule", "QuickDrawDataset"]

log = logging.getLogger(__name__)

MIXINGS = ("balanced", "natural")
# none: grey levels; threshold: pixel > 1/2; dynamic: Bernoulli samples, fresh each training epoch.
QUICKDRAW_BINARIZATIONS = {"none": "none", "threshold": "threshold", "dynamic": "bernoulli"}


class QuickDrawDataset(BatchImageDataset):
    """The rows ``rows[c]`` of each category file ``files[c]``, labelled ``c``, as (1, 28, 28) images."""

    def __init__(self, *, files: Sequence[BitmapFile], rows: Sequence[np.ndarray], **kwargs) -> None:
        super().__init__(image_shape=(1, SIDE, SIDE), **kwargs)
        self.files = list(files)
        self.rows = [np.asarray(r, dtype=np.int32) for r in rows]
        self.starts = np.cumsum([0] + [len(r) for r in self.rows])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels = np.searchsorted(self.starts, indices, side="right") - 1
        pixels = np.empty((len(indices), SIDE * SIDE), dtype=np.uint8)
        for category in np.unique(labels):
            where = np.flatnonzero(labels == category)
            rows = self.rows[category][indices[where] - self.starts[category]]
            pixels[where] = self.files[category].read(rows)
        return pixels, labels


class QuickDrawDataModule(DrawDataModule):
    """Quick, Draw! categories from ``<data_dir>/quickdraw/<category>.npy`` (or the cache directory),
    downloaded from Google's bucket when missing and ``download`` is on.

    The label is the category's index in ``categories``. ``max_per_category`` keeps the first rows
    of each file; ``mixing="balanced"`` then cuts every category to the smallest one. Each category
    is split train/val/test by ``seed``.
    """

    def __init__(
        self,
        *,
        categories: Sequence[str] = ("cat",),
        max_per_category: int | None = None,
        mixing: str = "natural",
        binarization: str = "none",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        download: bool = True,
        download_url: str = QUICKDRAW_URL,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.categories = check_categories(categories)
        if max_per_category is not None and max_per_category < 1:
            raise ValueError(f"data.max_per_category must be >= 1 or null, got {max_per_category}")
        if mixing not in MIXINGS:
            raise ValueError(f"data.mixing must be one of {MIXINGS}, got {mixing!r}")
        if binarization not in QUICKDRAW_BINARIZATIONS:
            raise ValueError(f"data.binarization must be one of {tuple(QUICKDRAW_BINARIZATIONS)}, got {binarization!r}")
        split_indices(2, val_fraction=val_fraction, test_fraction=test_fraction, seed=0)  # range checks only
        self.max_per_category = max_per_category
        self.mixing = mixing
        self.binarization = binarization
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.download = download
        self.download_url = download_url

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, SIDE, SIDE)

    def places(self, category: str) -> list[Path]:
        """Where ``<category>.npy`` is looked for, in order."""
        return [root / "quickdraw" / f"{category}.npy" for root in (self.data_dir, self.cache_dir)]

    def locate(self, category: str) -> Path:
        """Path of the category's file, downloading it first when missing (and allowed)."""
        places = self.places(category)
        for path in places:
            if path.is_file():
                return path
        url = category_url(self.download_url, category)
        target = download_dir(self.data_dir, self.cache_dir, "quickdraw") / f"{category}.npy"
        how = (
            f"Provide it by downloading {url} into {places[0].parent}/ (or into {places[1].parent}/), "
            f"or set DRAW_DATA_DIR / paths.data_dir to a folder holding quickdraw/{category}.npy"
        )
        looked = " and ".join(str(p) for p in places)
        if not self.download:
            raise FileNotFoundError(
                f"Quick, Draw! file {category}.npy not found (looked in {looked}); data.download is false. {how}"
            )
        note = "" if target == places[0] else f" (the data directory is not writable, so the download goes to {target})"
        log.info("downloading %s to %s", url, target)
        try:
            return download_bitmaps(url, target)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            raise FileNotFoundError(
                f"Quick, Draw! file {category}.npy not found (looked in {looked}) and {url} is unreachable "
                f"({getattr(err, 'reason', err)}){note}. {how}"
            ) from err
        except DownloadError as err:
            raise DownloadError(
                f"Quick, Draw! category {category!r}: {err}; nothing was saved to {target}. Run again to retry. {how}"
            ) from err

    def prepare_data(self) -> None:
        for category in self.categories:
            self.locate(category)

    def build_splits(self) -> dict[str, Dataset]:
        files = [BitmapFile(self.locate(category)) for category in self.categories]
        counts = [len(f) if self.max_per_category is None else min(len(f), self.max_per_category) for f in files]
        if self.mixing == "balanced":
            counts = [min(counts)] * len(counts)
        rows: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
        for label, (category, count) in enumerate(zip(self.categories, counts, strict=True)):
            parts = split_indices(
                count, val_fraction=self.val_fraction, test_fraction=self.test_fraction, seed=[self.seed, label]
            )
            check_splits_nonempty(
                {k: len(v) for k, v in parts.items()}, what=f"Quick, Draw! {category!r} ({count} rows)"
            )
            for split, index in parts.items():
                rows[split].append(index)
        binarization = QUICKDRAW_BINARIZATIONS[self.binarization]
        return {
            split: QuickDrawDataset(
                files=files,
                rows=rows[split],
                binarization=binarization,
                seed=self.seed,
                stream=stream,
                resample_each_epoch=split == "train",
            )
            for stream, split in enumerate(("train", "val", "test"))
        }
