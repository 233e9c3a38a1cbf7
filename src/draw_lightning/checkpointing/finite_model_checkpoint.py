"""Lightning's ModelCheckpoint, except that a NaN/Inf monitored value never becomes "best"."""

from __future__ import annotations

import logging

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor

__all__ = ["FiniteModelCheckpoint"]

log = logging.getLogger(__name__)


class FiniteModelCheckpoint(ModelCheckpoint):
    """Skips top-k saving when the monitored value is not finite.

    Lightning replaces a NaN score by +inf but still saves it as best while fewer than
    ``save_top_k`` checkpoints exist, so a run whose first validation is NaN would test that model.
    ``last.ckpt`` is still written: it is for resuming, not for picking the best model.
    """

    def check_monitor_top_k(self, trainer: L.Trainer, current: Tensor | None = None) -> bool:
        if current is not None and not bool(torch.isfinite(torch.as_tensor(current))):
            log.warning(
                "%s = %s at global step %d: not kept as a best checkpoint", self.monitor, current, trainer.global_step
            )
            return False
        return super().check_monitor_top_k(trainer, current)
