"""The run's config as hyperparameters of every logger, with the dataset sizes after setup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger

__all__ = ["RunConfigLogger", "dataset_sizes"]

# The losses the DRAW module logs: TensorBoard's HParams table shows them beside the hyperparameters.
TENSORBOARD_METRICS = ("val/loss", "val/rec_loss", "val/kl", "test/loss", "test/rec_loss", "test/kl")


def dataset_sizes(datamodule: Any) -> dict[str, int]:
    """Images per split of a set-up :class:`~draw_lightning.data.DrawDataModule` (empty for others)."""
    splits = getattr(datamodule, "splits", None) or {}
    return {name: len(dataset) for name, dataset in splits.items()}


class RunConfigLogger(Callback):
    """``logger.log_hyperparams`` of every logger, once, when the trainer first sets up: the run's
    hyperparameters (``train`` passes the resolved config, config choices and git state) and
    ``data_sizes`` (images per split). Lightning logs the model's own hyperparameters beside them.

    TensorBoard shows hyperparameters only when the event file holds an HParams session; Lightning
    writes one only together with metric values at step 0, so it is written here naming
    ``metrics`` (their scalars are the run's own curves).
    """

    def __init__(self, hyperparameters: Mapping[str, Any], metrics: Sequence[str] = TENSORBOARD_METRICS) -> None:
        self.hyperparameters = dict(hyperparameters)
        self.metrics = tuple(metrics)
        self._logged = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._logged:
            return
        self._logged = True
        params = {**self.hyperparameters, "data_sizes": dataset_sizes(trainer.datamodule)}
        for logger in trainer.loggers:
            logger.log_hyperparams(params)
            if isinstance(logger, TensorBoardLogger) and trainer.is_global_zero:
                _write_hparams_session(logger, params, self.metrics)


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}``; values TensorBoard cannot hold (lists, None) as text."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}/"))
        else:
            flat[name] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return flat


def _write_hparams_session(logger: TensorBoardLogger, params: Mapping[str, Any], metrics: Sequence[str]) -> None:
    from torch.utils.tensorboard.summary import hparams

    # only the names of metric_dict are used: the experiment lists them as the session's metrics
    experiment, start, end = hparams(_flatten(params), dict.fromkeys(metrics, 0.0))
    writer = logger.experiment._get_file_writer()
    for summary in (experiment, start, end):
        writer.add_summary(summary)
