"""Evaluation task: ``python -m draw_lightning.eval ckpt_path=...``.

Tests a checkpoint on its dataset's test split: negative ELBO (nats per image, and bits per
dimension for RGB), L^x, L^z, and the IWAE bound on -log p(x) with K samples; writes the metrics
to ``metrics.json`` in the run folder and to the loggers. With no ``data=`` given, the
datamodule of the training run is rebuilt from the checkpoint (its ``data_dir`` replaced by
this run's ``paths.data_dir``). ``ckpt_path`` is a Lightning checkpoint, a weights-only file,
``last`` or ``pretrained:NAME`` (shipped weights, see :mod:`draw_lightning.pretrained`).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader
from tqdm import tqdm

from draw_lightning.checkpointing.resume import resolve_ckpt_path
from draw_lightning.configs import CONFIG_DIR, setup_hydra, validate
from draw_lightning.data.batches import batch_images
from draw_lightning.lightning_modules import DRAWLitModule
from draw_lightning.models import DRAW, iwae_nll, nats_to_bits_per_dim
from draw_lightning.pretrained import load_module, resolve_pretrained
from draw_lightning.tracking.wandb_run import wandb_closed_after
from draw_lightning.utils.instantiate import instantiate_collection
from draw_lightning.utils.runtime import apply_runtime_settings

log = logging.getLogger(__name__)

setup_hydra()


def build_datamodule(cfg: DictConfig, checkpoint_data: dict[str, Any] | None) -> L.LightningDataModule:
    if cfg.get("data") is not None:
        return instantiate(cfg.data)
    if checkpoint_data is None:
        raise ValueError(f"{cfg.ckpt_path} holds no data config: choose one with data=<name>")
    data_cfg = dict(checkpoint_data, data_dir=cfg.paths.data_dir)
    return instantiate(data_cfg)


def num_iwae_batches(limit: int | float | None, total: int) -> int:
    """Batches the IWAE bound covers: all (None), a count (int) or a fraction (float in (0, 1])."""
    if limit is None:
        return total
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
        raise ValueError(f"iwae.limit_batches must be null, an integer >= 1 or a fraction in (0, 1], got {limit!r}")
    if isinstance(limit, float):
        if limit > 1:
            raise ValueError(f"iwae.limit_batches as a fraction must be in (0, 1], got {limit}")
        return max(1, math.ceil(total * limit))
    return min(limit, total)


@torch.no_grad()
def iwae_over_loader(
    net: DRAW, loader: DataLoader, *, num_samples: int, chunk_size: int, limit_batches: int | float | None, seed: int
) -> tuple[float, int]:
    """Mean IWAE estimate of -log p(x) (nats per image) over a loader's images, and their count."""
    device = net.canvas0.device
    generator = torch.Generator(device=device).manual_seed(seed)
    total, count = 0.0, 0
    batches = num_iwae_batches(limit_batches, len(loader))
    progress = tqdm(loader, total=batches, desc=f"IWAE bound, K={num_samples}", unit="batch")
    for index, batch in enumerate(progress):
        if index >= batches:
            break
        x = batch_images(batch).to(device)
        nll = iwae_nll(net, x, num_samples=num_samples, chunk_size=chunk_size, generator=generator)
        total += float(nll.double().sum())
        count += x.shape[0]
        progress.set_postfix(nll=f"{total / count:.3f}")
    progress.close()
    return total / count, count


def evaluate(cfg: DictConfig) -> dict[str, float]:
    validate(cfg)
    apply_runtime_settings(flush_denormal=cfg.extras.flush_denormal, reuse_freed_memory=cfg.extras.reuse_freed_memory)
    L.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_ckpt_path(
        cfg.ckpt_path, runs_root=Path(cfg.paths.log_dir) / "train", pretrained=resolve_pretrained
    )
    # Loaded on the CPU: a checkpoint trained on GPU evaluates on a CPU-only machine.
    model = load_module(ckpt_path)
    datamodule = build_datamodule(cfg, model.data_config)
    if tuple(datamodule.image_shape) != tuple(model.net.image_shape):
        raise ValueError(
            f"{ckpt_path} was trained on images of shape {model.net.image_shape}, "
            f"but the data gives {tuple(datamodule.image_shape)}"
        )
    loggers = instantiate_collection(cfg.get("logger"))
    with wandb_closed_after():
        trainer = instantiate(cfg.trainer, logger=loggers or False)
        trainer.test(model, datamodule=datamodule)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        extra = extra_metrics(cfg, model, datamodule, metrics)
        metrics.update(extra)
        for logger in loggers:
            logger.log_metrics(extra, step=trainer.global_step)
            logger.save()
    result = {"ckpt_path": ckpt_path, "metrics": metrics, "kl_per_step": model.kl_per_step["test"].tolist()}
    if cfg.iwae.num_samples > 0:
        result["iwae_num_samples"] = cfg.iwae.num_samples
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = output_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True))
    tmp.replace(output_dir / "metrics.json")
    log.info("test metrics written to %s", output_dir / "metrics.json")
    return metrics


def extra_metrics(
    cfg: DictConfig, model: DRAWLitModule, datamodule: L.LightningDataModule, metrics: dict[str, float]
) -> dict[str, float]:
    """The IWAE bound (``cfg.iwae``) and, for RGB images, bits per dimension."""
    extra: dict[str, float] = {}
    iwae = cfg.iwae
    if iwae.num_samples > 0:
        nll, count = iwae_over_loader(
            model.net,
            datamodule.test_dataloader(),
            num_samples=iwae.num_samples,
            chunk_size=iwae.chunk_size,
            limit_batches=iwae.limit_batches,
            seed=cfg.seed,
        )
        extra.update({"test/iwae_nll": nll, "test/iwae_num_images": float(count)})
    channels, height, width = model.net.image_shape
    if channels == 3:
        dims = channels * height * width
        for name in ("test/loss", "test/iwae_nll"):
            value = extra.get(name, metrics.get(name))
            if value is not None:
                extra[f"{name}_bpd"] = float(nats_to_bits_per_dim(value, dims))
    return extra


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def main(cfg: DictConfig) -> float:
    return evaluate(cfg)["test/loss"]


if __name__ == "__main__":
    main()
