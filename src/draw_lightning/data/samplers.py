"""A shuffling sampler that can restart part-way through an epoch, for exact resume."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["ResumableRandomSampler"]


class ResumableRandomSampler(Sampler[int]):
    """Random order fixed by ``(seed, epoch)``; the first pass can skip the first ``start`` samples.

    Lightning calls :meth:`set_epoch` at each epoch start. The order depends on no global RNG, so
    a resumed run given the same seed, epoch and ``start`` yields exactly the remaining samples.
    ``len`` stays the full epoch length, as Lightning's loop counters expect.
    """

    def __init__(self, *, num_samples: int, seed: int, epoch: int = 0, start: int = 0) -> None:
        if not 0 <= start <= num_samples:
            raise ValueError(f"start must lie in [0, {num_samples}], got {start}")
        self.num_samples = num_samples
        self.seed = seed
        self.epoch = epoch
        self.start = start

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.start = 0  # the skip belongs to the epoch it was saved in
        self.epoch = epoch

    def order(self, epoch: int) -> torch.Tensor:
        # SeedSequence mixes (seed, epoch), so seed s at epoch 1 is not seed s + 1 at epoch 0.
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]))
        return torch.randperm(self.num_samples, generator=generator)

    def __iter__(self) -> Iterator[int]:
        start, self.start = self.start, 0
        yield from self.order(self.epoch)[start:].tolist()

    def __len__(self) -> int:
        return self.num_samples
