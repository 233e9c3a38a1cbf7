"""Training task: ``python -m draw_lightning.train [overrides]``.

Seeds, builds datamodule, model (image shape taken from the data), callbacks, loggers and
trainer from the config; fits; tests the best checkpoint; returns the optimised metric.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor
from omegaconf import DictConfig, OmegaConf

from draw_lightning.checkpointing.resume import SameRuns, resolve_ckpt_path
from draw_lightning.configs import CONFIG_DIR, setup_hydra, validate
from draw_lightning.tracking import RunConfigLogger
from draw_lightning.tracking.failures import run_recording_failure
from draw_lightning.tracking.run_info import run_hyperparameters, save_resolved_config
from draw_lightning.tracking.wandb_run import resume_wandb_run, wandb_closed_after
from draw_lightning.utils.instantiate import instantiate_collection
from draw_lightning.utils.runtime import apply_runtime_settings

log = logging.getLogger(__name__)

setup_hydra()


def train(cfg: DictConfig, extra_callbacks: Sequence[L.Callback] = ()) -> dict[str, Any]:
    """Fit and test as configured; return every logged metric as floats.

    ``extra_callbacks`` join those of the config (the search's pruning callback).
    """
    validate(cfg)
    apply_runtime_settings(flush_denormal=cfg.extras.flush_denormal, reuse_freed_memory=cfg.extras.reuse_freed_memory)
    config_tree = save_resolved_config(cfg, cfg.paths.output_dir)
    if cfg.extras.print_config:
        log.info("resolved %s", config_tree)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model, image_shape=datamodule.image_shape)
    model.data_config = OmegaConf.to_container(cfg.data, resolve=True)
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_ckpt_path(
        cfg.get("ckpt_path"),
        runs_root=Path(cfg.paths.log_dir) / cfg.task_name,
        run_dir=output_dir,
        same_runs=SameRuns.of_current_run(),
    )
    if ckpt_path:
        log.info("resuming from %s", ckpt_path)
        resume_wandb_run(cfg.get("logger"), ckpt_path)  # before the loggers are built
    loggers = instantiate_collection(cfg.get("logger"))
    callbacks = instantiate_collection(cfg.get("callbacks"))
    callbacks.append(RunConfigLogger(run_hyperparameters(cfg)))  # to every logger, with the dataset sizes
    callbacks.extend(extra_callbacks)
    if not loggers:  # Lightning refuses a learning-rate monitor with nothing to log to
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    with wandb_closed_after():
        return _fit_and_test(cfg, trainer, model, datamodule, ckpt_path)


def _fit_and_test(cfg: DictConfig, trainer: L.Trainer, model: Any, datamodule: Any, ckpt_path: str | None) -> dict:
    metrics: dict[str, Any] = {}
    if cfg.get("train"):
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        metrics.update(trainer.callback_metrics)
        # A run resumed when already complete validates nothing: its best score is the checkpoint's.
        checkpoint = trainer.checkpoint_callback
        monitor = getattr(checkpoint, "monitor", None)
        if monitor and monitor not in metrics and checkpoint.best_model_score is not None:
            log.info("nothing left to train: %s of the best checkpoint, %s", monitor, checkpoint.best_model_path)
            metrics[monitor] = checkpoint.best_model_score
    if cfg.get("test"):
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if not best:
            log.warning("no best checkpoint saved: testing the current weights")
        trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
        metrics.update(trainer.callback_metrics)
    return {k: float(v) for k, v in metrics.items()}


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    return run_recording_failure(lambda: optimized_metric(cfg), output_dir=Path(cfg.paths.output_dir))


def optimized_metric(cfg: DictConfig, extra_callbacks: Sequence[L.Callback] = ()) -> float | None:
    """Train, then return ``cfg.optimized_metric`` for sweepers and the search (None when not set)."""
    metrics = train(cfg, extra_callbacks)
    name = cfg.get("optimized_metric")
    if not name:
        return None
    if name not in metrics:
        raise KeyError(f"optimized_metric={name!r} was not logged; logged metrics: {sorted(metrics)}")
    value = metrics[name]
    log.info("%s = %.4f (run folder %s)", name, value, HydraConfig.get().runtime.output_dir)
    # A NaN is no value to minimise: fail the run (a sweeper records it as failed).
    if not math.isfinite(value):
        raise FloatingPointError(f"optimized_metric {name} = {value}: training diverged")
    return value


if __name__ == "__main__":
    main()
