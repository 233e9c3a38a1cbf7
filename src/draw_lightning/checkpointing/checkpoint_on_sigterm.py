"""SIGTERM (SLURM pre-emption or time limit): save ``last.ckpt`` and let the process exit; in a
submitit job, its requeue signal too, after which submitit requeues the job."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["CheckpointOnSigterm", "submitit_requeue_signal"]

log = logging.getLogger(__name__)


def submitit_requeue_signal() -> signal.Signals | None:
    """The signal submitit's SLURM jobs requeue on (``SUBMITIT_PREEMPT_SIGNAL``, default USR2:
    sent ``signal_delay_s`` before the time limit, and on pre-emption where the cluster allows),
    or None outside such a job."""
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm":
        return None
    return getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2"), None)


class CheckpointOnSigterm(L.Callback):
    """Saves ``<dirpath>/last.ckpt`` when Lightning stops on SIGTERM.

    Lightning notes the signal and raises ``SIGTERMException`` (a ``SystemExit`` with code 0) at
    the next batch boundary on every rank; this callback writes the checkpoint from there, so
    ``ckpt_path=auto`` (or ``last``) resumes. ``dirpath`` defaults to the ModelCheckpoint's folder.

    In a submitit SLURM job, submitit's own handler of its requeue signal would requeue and exit
    at once, mid-step and without a checkpoint. During training this callback takes that signal
    as a SIGTERM instead and hands it to submitit's handler once ``last.ckpt`` is written: submitit
    then requeues the job (after a pre-emption, and after each of the first ``max_num_timeout``
    time limits), which comes back to the same run folder.
    """

    def __init__(self, *, dirpath: str | None = None) -> None:
        self.dirpath = dirpath
        self.saved_path: str | None = None
        self._requeue: tuple[signal.Signals, Callable[[int, FrameType | None], Any]] | None = None
        self._requeue_signalled = False

    def checkpoint_path(self, trainer: L.Trainer) -> Path:
        dirpath = self.dirpath
        if dirpath is None and isinstance(trainer.checkpoint_callback, ModelCheckpoint):
            dirpath = trainer.checkpoint_callback.dirpath
        if dirpath is None:
            dirpath = str(Path(trainer.default_root_dir) / "checkpoints")
        return Path(dirpath) / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After Lightning's own handlers are set: Lightning puts submitit's back when fit ends.
        signum = submitit_requeue_signal()
        if signum is None or threading.current_thread() is not threading.main_thread():
            return
        handler = signal.getsignal(signum)
        if callable(handler):
            self._requeue, self._requeue_signalled = (signum, handler), False
            signal.signal(signum, self._stop_for_requeue)

    def _stop_for_requeue(self, signum: int, frame: FrameType | None) -> None:
        log.warning("%s (submitit's requeue signal): stopping as on SIGTERM", signal.Signals(signum).name)
        self._requeue_signalled = True
        signal.raise_signal(signal.SIGTERM)  # Lightning's handler: stop at the next batch boundary

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
            "SIGTERM at global step %d: saved %s; the same run folder resumes it (ckpt_path=auto or last)",
            trainer.global_step,
            path,
        )
        if self._requeue is not None and self._requeue_signalled:
            self._hand_to_submitit(*self._requeue)

    @staticmethod
    def _hand_to_submitit(signum: signal.Signals, handler: Callable[[int, FrameType | None], Any]) -> None:
        """Let submitit requeue the job (on the first task; the others return at once). Its handler
        ends with ``sys.exit``, or raises when it does not requeue; either way the SIGTERM exit
        under way finishes instead, so the loggers still close."""
        try:
            handler(signum, None)
        except SystemExit:
            log.warning("submitit requeued the job")
        except Exception as error:  # noqa: BLE001 (submitit's reason for not requeuing)
            log.warning("submitit did not requeue the job: %s", error)
