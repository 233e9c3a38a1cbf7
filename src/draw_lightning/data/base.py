"""The small base every datamodule shares: splits, loaders, image shape, data directory."""

from __future__ import annotations

import os
from abc import abstractmethod

import lightning as L
from torch.utils.data import DataLoader, Dataset, SequentialSampler

from draw_lightning.data.locations import DATA_DIR_ENV, resolve_cache_dir, resolve_data_dir
from draw_lightning.data.samplers import EpochBatchSampler, EpochShuffleSampler
from draw_lightning.data.splits import holdout_indices, split_indices

__all__ = [
    "DATA_DIR_ENV",
    "DrawDataModule",
    "holdout_indices",
    "resolve_cache_dir",
    "resolve_data_dir",
    "split_indices",
]


class DrawDataModule(L.LightningDataModule):
    """Base datamodule: subclasses set ``image_shape`` and build the three split datasets.

    Batches are ``(images, labels)`` with images ``(batch, C, B, A)`` in [0, 1]. Training batches
    are shuffled by ``seed`` and the epoch, so a run's data order does not depend on global RNGs.
    """

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {batch_size}")
        if seed < 0:
            raise ValueError(f"data.seed must be >= 0, got {seed}")
        self.data_dir = resolve_data_dir(data_dir)
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.seed = seed
        self.splits: dict[str, Dataset] = {}

    @property
    @abstractmethod
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, B, A)``: channels, height, width. Known before ``setup``."""

    @abstractmethod
    def build_splits(self) -> dict[str, Dataset]:
        """Return the ``train``, ``val`` and ``test`` datasets."""

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = self.build_splits()

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        self.setup()
        dataset = self.splits[split]
        sampler = EpochShuffleSampler(len(dataset), seed=self.seed) if shuffle else SequentialSampler(dataset)
        batch_size = self.batch_size if split == "train" else self.eval_batch_size
        return DataLoader(
            dataset,
            batch_sampler=EpochBatchSampler(sampler, batch_size=batch_size, drop_last=False),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
