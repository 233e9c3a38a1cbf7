"""Training wall time as a metric, so curves can be drawn against time as well as steps."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

__all__ = ["WallClock"]


class WallClock(Callback):
    """Log ``time/elapsed_s``: seconds of fitting so far, with every training step's metrics.

    Counted from the start of fit and kept in the checkpoint, so a resumed run continues its clock
    (the time between the kill and the restart is not counted).
    """

    def __init__(self) -> None:
        self.elapsed_before = 0.0  # from the runs this one resumes
        self._started: float | None = None

    def elapsed(self) -> float:
        return self.elapsed_before + (0.0 if self._started is None else time.monotonic() - self._started)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.monotonic()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        pl_module.log("time/elapsed_s", self.elapsed(), on_step=True, on_epoch=False, rank_zero_only=True)

    def state_dict(self) -> dict[str, float]:
        return {"elapsed_s": self.elapsed()}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        self.elapsed_before = float(state_dict["elapsed_s"])
