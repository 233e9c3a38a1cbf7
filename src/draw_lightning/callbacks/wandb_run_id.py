"""Keep the W&B run id in every checkpoint, so resuming continues the same W&B run."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from draw_lightning.utils.wandb_run import WANDB_RUN_ID_KEY

__all__ = ["WandbRunIdSaver"]


class WandbRunIdSaver(L.Callback):
    """Writes ``checkpoint["wandb_run_id"]``; train.py reads it back when ``ckpt_path`` is set."""

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and logger.version:
                checkpoint[WANDB_RUN_ID_KEY] = logger.version
