"""SIGTERM (sent by SLURM before preemption): save ``last.ckpt`` and let the process exit."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["CheckpointOnSigterm"]

log = logging.getLogger(__name__)


class CheckpointOnSigterm(L.Callback):
    """Saves ``<dirpath>/last.ckpt`` when Lightning stops on SIGTERM.

    Lightning notes the signal and raises ``SIGTERMException`` (a ``SystemExit`` with code 0) at
    the next batch boundary on every rank; this callback writes the checkpoint from there, so
    ``ckpt_path=last`` resumes. ``dirpath`` defaults to the ModelCheckpoint's folder.
    """

    def __init__(self, *, dirpath: str | None = None) -> None:
        self.dirpath = dirpath
        self.saved_path: str | None = None

    def checkpoint_path(self, trainer: L.Trainer) -> Path:
        dirpath = self.dirpath
        if dirpath is None and isinstance(trainer.checkpoint_callback, ModelCheckpoint):
            dirpath = trainer.checkpoint_callback.dirpath
        if dirpath is None:
            dirpath = str(Path(trainer.default_root_dir) / "checkpoints")
        return Path(dirpath) / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}"

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException) or trainer.sanity_checking:
            return
        path = self.checkpoint_path(trainer)
        checkpoint_callback = trainer.checkpoint_callback
        if isinstance(checkpoint_callback, ModelCheckpoint):
            # Recorded in the checkpoint, so the resumed ModelCheckpoint knows its last file.
            checkpoint_callback.last_model_path = str(path)
        trainer.save_checkpoint(path)
        self.saved_path = str(path)
        log.warning(
            "SIGTERM at global step %d: saved %s; resume with ckpt_path=last (or ckpt_path=%s)",
            trainer.global_step,
            path,
            path,
        )
