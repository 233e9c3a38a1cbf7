"""LightningModule around the DRAW core: optimisation, logging and split-wide metrics."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torchmetrics import MeanMetric

from draw_lightning.checkpointing.format import check_checkpoint, stamp_checkpoint, upgrade_legacy_optimization
from draw_lightning.data.batches import batch_images
from draw_lightning.lightning_modules.metrics import VectorMean
from draw_lightning.lightning_modules.optim import build_optimizer, build_scheduler
from draw_lightning.models import DRAW, DrawOutput

__all__ = ["DRAWLitModule"]


def _plain(value: Any) -> Any:
    """DictConfig -> dict, so hyperparameters in a checkpoint need no OmegaConf/Hydra."""
    if isinstance(value, DictConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


class DRAWLitModule(L.LightningModule):
    """Trains DRAW on the negative ELBO in nats per image.

    ``net``: fields of :class:`~draw_lightning.models.DRAWConfig` (``image_shape`` comes from
    the datamodule). ``optimizer``: a ``torch.optim`` class as a Hydra partial; ``scheduler``:
    Lightning's ``lr_scheduler`` dict around a schedule partial, or None (``lightning_modules/optim.py``).
    """

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        net: dict[str, Any],
        optimizer: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        image_shape = tuple(int(s) for s in _plain(image_shape))
        net, optimizer, scheduler = _plain(net), _plain(optimizer), _plain(scheduler)
        optimizer, scheduler = upgrade_legacy_optimization(optimizer, scheduler)  # older checkpoints
        self.save_hyperparameters(
            {"image_shape": image_shape, "net": net, "optimizer": optimizer, "scheduler": scheduler}
        )
        self.net = DRAW(image_shape=image_shape, **net)
        num_steps = self.net.num_steps
        self.metrics = torch.nn.ModuleDict(
            {f"{split}_{name}": MeanMetric() for split in ("val", "test") for name in ("loss", "rec_loss", "kl")}
        )
        self.kl_steps = torch.nn.ModuleDict({split: VectorMean(size=num_steps) for split in ("val", "test")})
        # The training run's data config, kept in checkpoints so eval can rebuild the data.
        self.data_config: dict[str, Any] | None = None
        self.kl_per_step: dict[str, Tensor] = {}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        stamp_checkpoint(checkpoint)
        if self.data_config is not None:
            checkpoint["data_config"] = self.data_config

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        check_checkpoint(checkpoint, dict(self.hparams))
        self.data_config = checkpoint.get("data_config")

    def forward(self, x: Tensor, **kwargs: Any) -> DrawOutput:
        return self.net(x, **kwargs)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        out = self.net(batch_images(batch))
        loss = out.loss.mean()
        self.log_dict(
            {"train/loss": loss, "train/rec_loss": out.rec_loss.mean(), "train/kl": out.kl.mean()},
            prog_bar=True,
        )
        if self._should_log_kl_steps():
            kl_steps = out.kl_per_step.detach().mean(0)
            self.log_dict({f"train/kl_step/{t + 1:03d}": v for t, v in enumerate(kl_steps)})
        return loss

    def _should_log_kl_steps(self) -> bool:
        trainer = self._trainer
        return trainer is not None and trainer.global_step % max(trainer.log_every_n_steps, 1) == 0

    def _eval_step(self, split: str, batch: Any) -> None:
        out = self.net(batch_images(batch))
        size = out.loss.shape[0]
        for name, value in (("loss", out.loss), ("rec_loss", out.rec_loss), ("kl", out.kl)):
            metric = self.metrics[f"{split}_{name}"]
            metric.update(value.detach().mean(), weight=size)
            self.log(f"{split}/{name}", metric, prog_bar=name == "loss", batch_size=size)
        self.kl_steps[split].update(out.kl_per_step)

    def _eval_epoch_end(self, split: str) -> None:
        """Per-step KL over the whole split, straight to the loggers (64 values would swamp the
        progress table); kept in ``kl_per_step[split]`` for callbacks and eval."""
        metric = self.kl_steps[split]
        if metric.update_count == 0:
            return
        kl_steps = metric.compute()  # synchronised across processes: every rank calls it
        metric.reset()
        self.kl_per_step[split] = kl_steps.cpu()
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        values = {f"{split}/kl_step/{t + 1:03d}": float(v) for t, v in enumerate(kl_steps)}
        for logger in self.loggers:
            logger.log_metrics(values, step=self.global_step)

    def _reset_metrics(self, split: str) -> None:
        # Fresh states in the current grad mode: states left by a run under inference_mode
        # (trainer.validate/test) cannot be updated in place by a later fit's validation.
        for name, metric in self.metrics.items():
            if name.startswith(f"{split}_"):
                metric.reset()
        self.kl_steps[split].reset()

    def on_validation_epoch_start(self) -> None:
        self._reset_metrics("val")

    def on_test_epoch_start(self) -> None:
        self._reset_metrics("test")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step("val", batch)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.parameters(), dict(self.hparams.optimizer))
        # The run's length for schedules that span it: max_steps, or what max_epochs, limits and
        # processes make of it.
        trainer = self._trainer
        steps = trainer.estimated_stepping_batches if trainer is not None else math.inf
        epochs = trainer.max_epochs if trainer is not None and trainer.max_epochs not in (None, -1) else -1
        scheduler = build_scheduler(
            optimizer,
            self.hparams.scheduler,
            run_steps=int(steps) if math.isfinite(steps) else -1,
            run_epochs=epochs,
        )
        return optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
