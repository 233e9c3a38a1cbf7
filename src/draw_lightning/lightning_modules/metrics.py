"""Torchmetrics aggregation of DRAW's losses over a whole split (DDP-synchronised)."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric

__all__ = ["VectorMean"]


class VectorMean(Metric):
    """Mean over batches of a ``(batch, D)`` tensor, per column: e.g. the KL of each time step."""

    full_state_update = False

    def __init__(self, *, size: int) -> None:
        super().__init__()
        self.add_state("total", default=torch.zeros(size, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, values: Tensor) -> None:
        self.total += values.detach().to(torch.float64).sum(0)
        self.count += values.shape[0]

    def compute(self) -> Tensor:
        return (self.total / self.count).float()
