"""Keep the W&B run id in every checkpoint, so resuming continues the same W&B run; and where in
the W&B history the checkpoint was written, so a resumed offline run syncs without the history
rows logged twice (:mod:`draw_lightning.tracking.wandb_sync`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from draw_lightning.tracking.wandb_run import WANDB_HISTORY_KEY, WANDB_RESUMED_FROM_FILE, WANDB_RUN_ID_KEY

__all__ = ["WandbRunIdSaver"]


def _wandb_run(trainer: L.Trainer) -> Any | None:
    """The W&B run of the trainer's W&B logger (on the global-zero process), or None."""
    if not trainer.is_global_zero:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and logger.version:
            return logger.experiment
    return None


class WandbRunIdSaver(L.Callback):
    """Writes ``checkpoint["wandb_run_id"]`` (train.py reads it back when ``ckpt_path`` is set) and
    ``checkpoint["wandb_history"]``: the W&B run folder being written and its count of history rows
    (W&B's ``_step``) when the checkpoint was saved.

    When training resumes from such a checkpoint, the new W&B run folder gets
    ``draw_resumed_from.json`` with that position and the checkpoint's global step: the rows the
    earlier folder logged after it, at that step or later, are logged again by this run.
    """

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and logger.version:
                checkpoint[WANDB_RUN_ID_KEY] = logger.version
        run = _wandb_run(trainer)
        if run is not None and getattr(run, "dir", None):
            checkpoint[WANDB_HISTORY_KEY] = {"folder": Path(run.dir).parent.name, "rows": int(run.step)}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        history = checkpoint.get(WANDB_HISTORY_KEY)
        run = _wandb_run(trainer) if history else None
        if run is None or not getattr(run, "dir", None) or run.id != checkpoint.get(WANDB_RUN_ID_KEY):
            return
        resumed_from = {"run_id": run.id, "global_step": int(checkpoint["global_step"]), **history}
        (Path(run.dir).parent / WANDB_RESUMED_FROM_FILE).write_text(json.dumps(resumed_from) + "\n")
