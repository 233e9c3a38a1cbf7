"""Evaluation task: ``python -m draw_lightning.eval ckpt_path=...``.

Tests a checkpoint on its dataset's test split and writes the metrics to ``metrics.json`` in
the run folder. With no ``data=`` given, the datamodule of the training run is rebuilt from
the checkpoint (its ``data_dir`` replaced by this run's ``paths.data_dir``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from draw_lightning.configs import CONFIG_DIR, setup_hydra, validate
from draw_lightning.modules import DRAWLitModule
from draw_lightning.utils.checkpoints import resolve_ckpt_path
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


def evaluate(cfg: DictConfig) -> dict[str, float]:
    validate(cfg)
    apply_runtime_settings(flush_denormal=cfg.extras.flush_denormal)
    L.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_ckpt_path(cfg.ckpt_path, runs_root=Path(cfg.paths.log_dir) / "train", exclude=output_dir)
    # map_location cpu: a checkpoint trained on GPU evaluates on a CPU-only machine.
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    model = DRAWLitModule.load_from_checkpoint(ckpt_path, map_location="cpu")
    datamodule = build_datamodule(cfg, checkpoint.get("data_config"))
    if tuple(datamodule.image_shape) != tuple(model.net.image_shape):
        raise ValueError(
            f"{ckpt_path} was trained on images of shape {model.net.image_shape}, "
            f"but the data gives {tuple(datamodule.image_shape)}"
        )
    trainer = instantiate(cfg.trainer, logger=instantiate_collection(cfg.get("logger")) or False)
    trainer.test(model, datamodule=datamodule)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    result = {"ckpt_path": ckpt_path, "metrics": metrics, "kl_per_step": model.kl_per_step["test"].tolist()}
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = output_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True))
    tmp.replace(output_dir / "metrics.json")
    log.info("test metrics written to %s", output_dir / "metrics.json")
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def main(cfg: DictConfig) -> float:
    return evaluate(cfg)["test/loss"]


if __name__ == "__main__":
    main()
