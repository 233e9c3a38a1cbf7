"""The process-wide runtime settings in every training process, spawned DDP ranks included."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback

from draw_lightning.utils.runtime import apply_runtime_settings, die_with_parent

__all__ = ["RuntimeSettings"]


class RuntimeSettings(Callback):
    """Apply :func:`~draw_lightning.utils.runtime.apply_runtime_settings` at setup, in each process.

    ``train`` applies them in the launching process; ranks started by ``ddp_spawn`` (e.g.
    ``trainer=ddp_sim``: 2 CPU processes) begin as fresh interpreters and get them here.
    """

    def __init__(self, *, flush_denormal: bool, reuse_freed_memory: bool) -> None:
        self.flush_denormal = flush_denormal
        self.reuse_freed_memory = reuse_freed_memory

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        apply_runtime_settings(flush_denormal=self.flush_denormal, reuse_freed_memory=self.reuse_freed_memory)
        die_with_parent()  # a spawned rank ends with its launcher instead of running on orphaned
