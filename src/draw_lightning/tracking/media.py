"""Send an image, a GIF or a KL chart to every attached logger that can show it.

W&B: ``log_image``/``log_video``/bar chart; TensorBoard: ``add_image``; CSV: PNG (and GIF) files
under ``image_dir/<key>/``. Loggers of other kinds are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from torch import Tensor

from draw_lightning.viz import kl_bar_chart, write_png

__all__ = ["log_gif", "log_image", "log_kl_per_step", "media_path"]


def media_path(image_dir: str | Path, key: str, tag: str, suffix: str) -> Path:
    """``image_dir/<key with / as _>/<tag><suffix>``, e.g. ``images/canvas_generation/epoch_003.png``."""
    return Path(image_dir) / key.replace("/", "_") / f"{tag}{suffix}"


def log_image(
    loggers: Iterable[Logger], key: str, image: Tensor, *, step: int, tag: str, image_dir: str | Path
) -> list[Path]:
    """Log a uint8 ``(3, H, W)`` image; returns the PNG files written (for CSV loggers)."""
    written = []
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key, [image.permute(1, 2, 0).numpy()], step=step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, global_step=step)
        elif isinstance(logger, CSVLogger) and not written:
            written.append(write_png(image, media_path(image_dir, key, tag, ".png")))
    return written


def log_gif(loggers: Iterable[Logger], key: str, gif: Path, *, step: int) -> None:
    """Log an animated GIF file already written to the run folder (W&B only: other loggers
    have no GIF support without extra video libraries; the file itself stays in the run folder)."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_video(key, [str(gif)], step=step, format=["gif"])


def log_kl_per_step(
    loggers: Iterable[Logger], key: str, kl_per_step: Tensor, *, step: int, tag: str, image_dir: str | Path
) -> list[Path]:
    """KL per time step ``(T,)`` as a W&B bar chart, and as a bar-chart image elsewhere."""
    others = []
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            import wandb

            table = wandb.Table(columns=["t", "kl"], data=[[t + 1, float(v)] for t, v in enumerate(kl_per_step)])
            chart = wandb.plot.bar(table, "t", "kl", title=f"{key} (nats)")
            logger.log_metrics({key: chart}, step=step)  # type: ignore[dict-item]
        else:
            others.append(logger)
    if not others:
        return []
    return log_image(others, key, kl_bar_chart(kl_per_step), step=step, tag=tag, image_dir=image_dir)
