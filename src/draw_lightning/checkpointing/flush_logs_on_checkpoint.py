"""Flush the loggers with every checkpoint, so a killed run's logs reach its last checkpoint."""

from __future__ import annotations

from typing import Any

import lightning as L

from draw_lightning.tracking.csv_logger import ContinuingCSVLogger, csv_rows

__all__ = ["FlushLogsOnCheckpoint"]

CSV_ROWS_KEY = "csv_log_rows"


class FlushLogsOnCheckpoint(L.Callback):
    """Calls ``logger.save()`` when a checkpoint is written and again at the next batch start.

    A run resumed from a checkpoint at global step ``g`` logs from logger step ``g`` on; the rows
    before it must be on disk in the interrupted run. Lightning logs the row of step ``g - 1``
    just after the step-``g`` checkpoint, hence the second flush at the following batch start.
    """

    def __init__(self) -> None:
        self._flush_at_next_batch = False

    @staticmethod
    def _flush(trainer: L.Trainer) -> None:
        for logger in trainer.loggers:
            logger.save()

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        self._flush(trainer)
        self._flush_at_next_batch = True
        # A resumed run keeps these rows of its CSV log whatever their step (ContinuingCSVLogger).
        if trainer.is_global_zero:  # other ranks hold no CSV writer
            for logger in trainer.loggers:
                if isinstance(logger, ContinuingCSVLogger):
                    checkpoint[CSV_ROWS_KEY] = csv_rows(logger)

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        if not trainer.is_global_zero or CSV_ROWS_KEY not in checkpoint:
            return
        for logger in trainer.loggers:
            if isinstance(logger, ContinuingCSVLogger):
                logger.experiment.rows_at_checkpoint = checkpoint[CSV_ROWS_KEY]

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._flush_at_next_batch:
            self._flush(trainer)
            self._flush_at_next_batch = False

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
