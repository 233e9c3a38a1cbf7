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
    """A permutation of ``range(n)`` drawn from ``(seed, epoch)``: the same run, the same order.

    ``start`` skips the first samples of the first pass, so a run resumed mid-epoch sees exactly
    the rest of that epoch; ``len`` stays the full epoch, as Lightning's loop counters expect.
    """

    def __init__(self, n: int, *, seed: int, epoch: int = 0, start: int = 0) -> None:
        if not 0 <= start <= n:
            raise ValueError(f"start must lie in [0, {n}], got {start}")
        self.n = n
        self.seed = seed
        self.epoch = epoch
        self.start = start

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.start = 0  # a skip belongs to the epoch it was saved in
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        start, self.start = self.start, 0
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)[start:]
        if self.n < 2**31:
            order = order.astype(np.int32)  # 4 bytes a drawing: 200 MB for all of Quick, Draw!
        for begin in range(0, len(order), CHUNK):  # Python ints only a chunk at a time
            yield from order[begin : begin + CHUNK].tolist()


class EpochBatchSampler(BatchSampler):
    """:class:`~torch.utils.data.BatchSampler` whose batches are :class:`EpochBatch` lists.

    The epoch is read from the wrapped sampler (ours, or Lightning's ``DistributedSampler``).
    """

    def __iter__(self) -> Iterator[EpochBatch]:
        epoch = getattr(self.sampler, "epoch", 0)
        for batch in super().__iter__():
            yield EpochBatch(batch, epoch)
