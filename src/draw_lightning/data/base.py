"""The small base every datamodule shares: splits, loaders, image shape, data directory."""

from __future__ import annotations

import os
from abc import abstractmethod
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
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
        self._resume_position: tuple[int, int] | None = None  # (epoch, batches done) from a checkpoint

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
        batch_size = self.batch_size if split == "train" else self.eval_batch_size
        if shuffle:
            # set_epoch drops the skip once the loop moves past the saved epoch
            epoch, batches_done = self._resume_position or (0, 0)
            start = min(batches_done * batch_size, len(dataset))
            sampler = EpochShuffleSampler(len(dataset), seed=self.seed, epoch=epoch, start=start)
        else:
            sampler = SequentialSampler(dataset)
        return DataLoader(
            dataset,
            batch_sampler=EpochBatchSampler(sampler, batch_size=batch_size, drop_last=False),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            # Its own generator: starting an epoch then draws nothing from the global RNG.
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def state_dict(self) -> dict[str, Any]:
        """Position in the training epoch, saved in checkpoints for an exact mid-epoch resume.

        Counted from the trainer's loop (batches trained, not fetched: Lightning prefetches one
        batch ahead). In DDP Lightning's DistributedSampler restarts the epoch instead.
        """
        trainer = self.trainer
        if trainer is None or trainer.state.fn != TrainerFn.FITTING or trainer.world_size > 1:
            return {}
        epoch = trainer.current_epoch
        done = trainer.fit_loop.epoch_loop.batch_progress.current.ready
        if done >= trainer.num_training_batches:
            epoch, done = epoch + 1, 0
        return {"position": (int(epoch), int(done))}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        position = state_dict.get("position")
        self._resume_position = tuple(position) if position is not None else None
