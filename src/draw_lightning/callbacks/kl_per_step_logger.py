"""Chart of the KL divergence spent at each time step t = 1..T (where information enters)."""

from __future__ import annotations

from pathlib import Path

import lightning as L

from draw_lightning.tracking.media import log_kl_per_step

__all__ = ["KLPerStepLogger"]


class KLPerStepLogger(L.Callback):
    """Logs the split-wide mean KL per step (``pl_module.kl_per_step[split]``) as a bar chart,
    after validation every ``every_n_epochs`` epochs and after testing."""

    def __init__(self, *, image_dir: str, every_n_epochs: int = 1, prefix: str = "kl_per_step") -> None:
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"callbacks.kl_per_step_logger.every_n_epochs must be >= 1, got {every_n_epochs}")
        self.image_dir = Path(image_dir)
        self.every_n_epochs = every_n_epochs
        self.prefix = prefix

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        values = getattr(pl_module, "kl_per_step", {}).get(split)
        if values is None or not trainer.is_global_zero:
            return
        tag = f"epoch_{trainer.current_epoch:03d}"
        log_kl_per_step(
            trainer.loggers,
            f"{self.prefix}/{split}",
            values,
            step=trainer.global_step,
            tag=tag,
            image_dir=self.image_dir,
        )

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and trainer.current_epoch % self.every_n_epochs == 0:
            self._log(trainer, pl_module, "val")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module, "test")
