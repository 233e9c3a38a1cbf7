"""trainer/, hydra/launcher/ and hparams_search/ options compose to what their comments promise."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hydra.utils import get_class
from omegaconf import OmegaConf

from draw_lightning.train import train


@pytest.mark.parametrize(
    ("trainer", "expected"),
    [
        ("ddp", dict(strategy="ddp", accelerator="gpu", devices=4, num_nodes=1)),
        ("ddp_multinode", dict(strategy="ddp", accelerator="gpu", devices=4, num_nodes=2)),
        ("ddp_sim", dict(strategy="ddp_spawn", accelerator="cpu", devices=2)),
        ("gpu_bf16", dict(accelerator="gpu", devices=1, precision="bf16-mixed")),
        ("gpu_fp16", dict(accelerator="gpu", devices=1, precision="16-mixed")),
    ],
)
def test_trainer_option(trainer: str, expected: dict, compose_train) -> None:
    cfg = compose_train([f"trainer={trainer}"])
    assert {k: cfg.trainer[k] for k in expected} == expected
    assert get_class(cfg.trainer._target_).__name__ == "Trainer"


def test_slurm_launcher_takes_nodes_and_tasks_from_the_trainer(compose_train) -> None:
    cfg = compose_train(["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=8", "trainer.num_nodes=3"])
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert get_class(launcher["_target_"]).__name__ == "SlurmLauncher"
    assert (launcher["nodes"], launcher["tasks_per_node"], launcher["gpus_per_node"]) == (3, 8, 8)
    # requeued on submitit's USR2, 180 s before the time limit, after up to 10 time limits
    assert (launcher["signal_delay_s"], launcher["max_num_timeout"]) == (180, 10)


def test_optuna_search_study_in_sqlite_under_the_root(compose_train, tmp_path: Path) -> None:
    search = compose_train(["hparams_search=optuna"]).search
    assert search.direction == "minimize" and search.pruner.name == "median"
    assert search.storage == f"sqlite:///{tmp_path}/optuna_draw.db"
    assert search.dir == f"{tmp_path}/logs/search/draw"


def test_bf16_autocast_trains_draw_on_cpu(compose_train) -> None:
    """The bf16-mixed path of trainer=gpu_bf16 (autocast is the same code on CPU)."""
    cfg = compose_train(
        ["trainer=gpu_bf16", "trainer.accelerator=cpu", "debug=fdr", "data.batch_size=8", "model.net.num_steps=4"]
    )
    assert cfg.trainer.precision == "bf16-mixed"
    metrics = train(cfg)
    assert math.isfinite(metrics["val/loss"])
    assert 0.5 * 784 * math.log(2) < metrics["test/rec_loss"] < 2 * 784 * math.log(2)
