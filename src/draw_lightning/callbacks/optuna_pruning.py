"""Report each validation's loss to an Optuna trial and stop the trial when the pruner says so."""

from __future__ import annotations

import math

import lightning as L
import optuna

__all__ = ["OptunaPruning"]


class OptunaPruning(L.Callback):
    """``trial.report(monitor, epoch)`` after every validation; raise :class:`optuna.TrialPruned`
    when ``trial.should_prune()``, which ends ``trainer.fit`` and marks the trial pruned.

    A non-finite value is not reported (Optuna rejects it) and prunes the trial at once.
    """

    def __init__(self, trial: optuna.trial.Trial, monitor: str = "val/loss") -> None:
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        epoch = trainer.current_epoch
        if not math.isfinite(value):
            raise optuna.TrialPruned(f"{self.monitor} = {value} at epoch {epoch}")
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.monitor} = {value:.4f} at epoch {epoch}")
