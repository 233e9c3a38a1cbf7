"""Every conf/trainer/ option builds a real Lightning Trainer that follows its settings (on this
CPU machine, its accelerator overridden to cpu), and bf16 autocast (trainer=gpu_bf16) trains DRAW."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
from hydra.utils import instantiate
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy

from draw_lightning.checkpointing.atomic_io import AtomicCheckpointIO
from draw_lightning.configs import CONFIG_DIR
from draw_lightning.train import train
from tests.conftest import TINY_MODEL

TRAINER_OPTIONS = sorted(p.stem for p in (Path(CONFIG_DIR) / "trainer").glob("*.yaml"))


def test_the_trainer_options_are_found() -> None:
    assert {"default", "cpu", "gpu", "ddp", "ddp_sim", "gpu_bf16"} <= set(TRAINER_OPTIONS)


@pytest.mark.parametrize("option", TRAINER_OPTIONS)
def test_trainer_option_instantiates_a_trainer_that_follows_it(option: str, compose_train, tmp_path: Path) -> None:
    """A misspelt key or a value Lightning refuses fails here; the Trainer has what the option asks."""
    cfg = compose_train([f"trainer={option}", "trainer.accelerator=cpu"])
    trainer = instantiate(cfg.trainer, logger=False, enable_progress_bar=False)
    assert isinstance(trainer, L.Trainer)
    want = cfg.trainer
    assert trainer.num_devices == want.devices and trainer.num_nodes == want.get("num_nodes", 1)
    # CPU autocast has no float16: Lightning runs 16-mixed as bf16-mixed there (on a GPU, float16).
    assert trainer.precision == {"16-mixed": "bf16-mixed"}.get(want.precision, want.precision)
    assert trainer.max_epochs == want.max_epochs and trainer.gradient_clip_val == want.gradient_clip_val
    assert trainer.default_root_dir == str(tmp_path / "run")
    strategy = str(want.get("strategy", "auto"))
    if strategy.startswith("ddp"):
        assert isinstance(trainer.strategy, DDPStrategy) and trainer.strategy._start_method == (
            "spawn" if strategy == "ddp_spawn" else "popen"
        )
    else:
        assert isinstance(trainer.strategy, SingleDeviceStrategy)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_bf16_autocast_trains_draw_on_cpu(compose_train) -> None:
    """The bf16-mixed path of trainer=gpu_bf16 (autocast is the same code on CPU)."""
    cfg = compose_train(["trainer=gpu_bf16", "trainer.accelerator=cpu", "debug=fdr", "data.batch_size=8", *TINY_MODEL])
    assert cfg.trainer.precision == "bf16-mixed"
    metrics = train(cfg)
    assert math.isfinite(metrics["val/loss"])
    assert 0.5 * 784 * math.log(2) < metrics["test/rec_loss"] < 2 * 784 * math.log(2)
