"""Sampling task: ``python -m draw_lightning.sample ckpt_path=... n=64``.

Writes in its run folder ``samples.png`` (final canvases of ``n`` prior samples),
``sequence.png`` (rows = samples, columns = time steps, write boxes) and ``generation.gif``
(one frame per step). Runs on the CPU whatever device the checkpoint was trained on.
``ckpt_path`` is a Lightning checkpoint, a weights-only file, ``last`` or ``pretrained:NAME``
(shipped weights, see :mod:`draw_lightning.pretrained`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig

from draw_lightning.checkpointing.resume import resolve_ckpt_path
from draw_lightning.configs import CONFIG_DIR, setup_hydra
from draw_lightning.pretrained import load_module, resolve_pretrained
from draw_lightning.tracking.media import log_gif, log_image
from draw_lightning.tracking.wandb_run import wandb_closed_after
from draw_lightning.utils.instantiate import instantiate_collection
from draw_lightning.utils.runtime import apply_runtime_settings
from draw_lightning.viz import generation_figures, write_gif, write_png

log = logging.getLogger(__name__)

setup_hydra()


def check_sample_config(cfg: DictConfig) -> None:
    """Raise a ValueError naming the key if a sampling option is out of range."""
    if not isinstance(cfg.n, int) or cfg.n < 1:
        raise ValueError(f"n (number of samples) must be an integer >= 1, got {cfg.n!r}")
    if cfg.temperature < 0:
        raise ValueError(f"temperature must be >= 0 (the prior's standard deviation scale), got {cfg.temperature}")
    if cfg.steps_shown is not None and cfg.steps_shown < 1:
        raise ValueError(f"steps_shown must be >= 1 or null (all steps), got {cfg.steps_shown}")
    for key in ("sequence_rows", "scale"):
        if cfg[key] < 1:
            raise ValueError(f"{key} must be >= 1, got {cfg[key]}")


def sample(cfg: DictConfig) -> dict[str, Path]:
    """Draw ``cfg.n`` samples from the checkpoint's prior; return the files written."""
    check_sample_config(cfg)
    apply_runtime_settings(flush_denormal=cfg.extras.flush_denormal, reuse_freed_memory=cfg.extras.reuse_freed_memory)
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_ckpt_path(
        cfg.ckpt_path, runs_root=Path(cfg.paths.log_dir) / "train", pretrained=resolve_pretrained
    )
    model = load_module(ckpt_path).eval()
    figures = generation_figures(
        model.net,
        num_samples=cfg.n,
        generator=torch.Generator().manual_seed(cfg.seed),
        temperature=cfg.temperature,
        max_steps_shown=cfg.steps_shown,
        sequence_rows=cfg.sequence_rows,
        scale=cfg.scale,
    )
    files = {
        "samples": write_png(figures["samples"], output_dir / "samples.png"),
        "sequence": write_png(figures["sequence"], output_dir / "sequence.png"),
        "generation": write_gif(figures["frames"], output_dir / "generation.gif"),
    }
    # The files above are the CSV logger's record already; other loggers get a copy.
    loggers = [lg for lg in instantiate_collection(cfg.get("logger")) if not isinstance(lg, CSVLogger)]
    with wandb_closed_after():
        for key in ("samples", "sequence"):
            log_image(loggers, f"sample/{key}", figures[key], step=0, tag="sample", image_dir=output_dir)
        log_gif(loggers, "sample/generation", files["generation"], step=0)
    log.info("samples of %s written to %s", ckpt_path, output_dir)
    return files


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="sample")
def main(cfg: DictConfig) -> None:
    sample(cfg)


if __name__ == "__main__":
    main()
