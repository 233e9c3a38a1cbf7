"""The small base every datamodule shares: splits, loaders, image shape, data directory."""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch.utils.data import DataLoader, Dataset

from draw_lightning.data.samplers import ResumableRandomSampler

__all__ = ["DATA_DIR_ENV", "DrawDataModule", "resolve_data_dir", "split_indices"]

DATA_DIR_ENV = "DRAW_DATA_DIR"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else ``$DRAW_DATA_DIR``, else ``./data``."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV, "data")
    return Path(data_dir).expanduser()


def split_indices(n: int, *, val_fraction: float, test_fraction: float, seed: int) -> dict[str, torch.Tensor]:
    """Deterministic train/val/test index split of ``n`` items by ``seed``."""
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"data.{key} must lie in (0, 1), got {value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"data.val_fraction + data.test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    return {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}


class DrawDataModule(L.LightningDataModule):
    """Base datamodule: subclasses set ``image_shape`` and build the three split datasets.

    Batches are ``(images, labels)`` with images ``(batch, C, B, A)`` in [0, 1].
    """

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike | None = None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {batch_size}")
        self.data_dir = resolve_data_dir(data_dir)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.seed = seed
        self.splits: dict[str, Dataset] = {}
        # Training order: drawn once from the global RNG (so `seed` varies it), kept in checkpoints.
        self.shuffle_seed: int | None = None
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

    def _loader(self, split: str, **kwargs: Any) -> DataLoader:
        self.setup()
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size if split == "train" else self.eval_batch_size,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            drop_last=False,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        self.setup()
        if self.trainer is not None and self.trainer.world_size > 1:
            # Lightning swaps in a DistributedSampler (reshuffled by set_epoch); a mid-epoch resume
            # then restarts the epoch's data order (Lightning warns).
            return self._loader("train", shuffle=True)
        if self.shuffle_seed is None:
            self.shuffle_seed = int(torch.randint(2**31 - 1, ()))
        epoch, batches_done = self._resume_position or (0, 0)
        sampler = ResumableRandomSampler(
            num_samples=len(self.splits["train"]),
            seed=self.shuffle_seed,
            epoch=epoch,
            start=min(batches_done * self.batch_size, len(self.splits["train"])),
        )
        # Its own generator: creating an iterator then draws no number from the global RNG.
        generator = torch.Generator().manual_seed(self.shuffle_seed)
        return self._loader("train", sampler=sampler, generator=generator)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def state_dict(self) -> dict[str, Any]:
        """Shuffle seed and position in the epoch, saved in checkpoints for an exact mid-epoch resume.

        The position comes from the trainer's loop counters (batches trained, not batches fetched:
        Lightning prefetches one batch ahead).
        """
        state: dict[str, Any] = {"shuffle_seed": self.shuffle_seed}
        trainer = self.trainer
        if trainer is not None and trainer.state.fn == TrainerFn.FITTING:
            epoch = trainer.current_epoch
            done = trainer.fit_loop.epoch_loop.batch_progress.current.ready
            if done >= trainer.num_training_batches:
                epoch, done = epoch + 1, 0
            state["position"] = (int(epoch), int(done))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.shuffle_seed = state_dict.get("shuffle_seed")
        position = state_dict.get("position")
        self._resume_position = tuple(position) if position is not None else None
