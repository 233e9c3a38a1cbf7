"""Samplers that carry the epoch into each batch of indices, so datasets can re-randomise per epoch.

Lightning calls ``set_epoch`` on a loader's sampler each epoch; the batch sampler tags every batch
with that epoch. The tag travels with the indices to worker processes, where a copy of a dataset
would never see a ``set_epoch`` made in the main process.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import BatchSampler, Sampler

__all__ = ["EpochBatch", "EpochBatchSampler", "EpochShuffleSampler"]

CHUNK = 1 << 16


class EpochBatch(list):
    """A batch of dataset indices with the epoch it was drawn in."""

    def __init__(self, indices: list[int], epoch: int) -> None:
        super().__init__(indices)
        self.epoch = epoch


class EpochShuffleSampler(Sampler[int]):
    """A permutation of ``range(n)`` drawn from ``(seed, epoch)``: the same run, the same order."""

    def __init__(self, n: int, *, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        if self.n < 2**31:
            order = order.astype(np.int32)  # 4 bytes a drawing: 200 MB for all of Quick, Draw!
        for start in range(0, self.n, CHUNK):  # Python ints only a chunk at a time
            yield from order[start : start + CHUNK].tolist()


class EpochBatchSampler(BatchSampler):
    """:class:`~torch.utils.data.BatchSampler` whose batches are :class:`EpochBatch` lists.

    The epoch is read from the wrapped sampler (ours, or Lightning's ``DistributedSampler``).
    """

    def __iter__(self) -> Iterator[EpochBatch]:
        epoch = getattr(self.sampler, "epoch", 0)
        for batch in super().__iter__():
            yield EpochBatch(batch, epoch)
