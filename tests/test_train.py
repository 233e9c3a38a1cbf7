"""The Hydra entry points as a user runs them: composition errors, train, resume, eval."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from tests.conftest import TINY_MODEL, TINY_NET, run_task, start_task

LIMITS = [
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "data.max_per_category=300",
    "logger=csv",
    "extras.print_config=false",
    "trainer.accelerator=cpu",
]


def _run_dirs(root: Path, task: str) -> list[Path]:
    return sorted((root / "logs" / task / "runs").iterdir())


def test_default_model_is_the_papers_mnist_setting(compose_train):
    cfg = compose_train()
    net = cfg.model.net
    assert (net.num_steps, net.enc_hidden, net.dec_hidden, net.z_dim, net.read_n, net.write_n) == (
        64,
        256,
        256,
        100,
        2,
        5,
    )
    assert net.read_attention and net.write_attention and cfg.model.optimizer._target_ == "torch.optim.Adam"
    assert OmegaConf.select(cfg, "hydra.job.chdir") is None or not cfg.hydra.job.chdir


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.net.read_n=five", "model.net.read_n"),
        ("model.net.raed_n=3", "Key 'raed_n' not in 'DRAWConfig'"),
        ("data.batchsize=3", "Key 'batchsize' not in 'QuickDrawDataConfig'"),
    ],
)
def test_typed_configs_reject_bad_keys_and_types_at_composition(override, message, compose_train):
    with pytest.raises(ConfigCompositionException) as info:
        compose_train([override])
    assert message in f"{info.value} {info.value.__cause__}"


def test_train_resume_and_eval_from_the_command_line(tmp_path):
    args = [*TINY_MODEL, *LIMITS, "trainer.max_epochs=1"]
    first = run_task("train", *args, cwd=tmp_path)
    (run,) = _run_dirs(tmp_path, "train")
    assert (run / "checkpoints" / "last.ckpt").is_file()
    rows = list(csv.DictReader((run / "csv" / "metrics.csv").open()))
    val_losses = [float(r["val/loss"]) for r in rows if r.get("val/loss")]
    test_losses = [float(r["test/loss"]) for r in rows if r.get("test/loss")]
    assert len(val_losses) == 1 and len(test_losses) == 1
    assert 0 < val_losses[0] < 784 * math.log(2) * 2  # finite, and of the order of nats per image
    assert f"val/loss = {val_losses[0]:.4f}" in first.stderr + first.stdout
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3

    run_task("train", *args, "trainer.max_epochs=2", "ckpt_path=last", cwd=tmp_path)
    runs = _run_dirs(tmp_path, "train")
    assert len(runs) == 2  # the resumed run has a folder of its own
    resumed = next(r for r in runs if r != run)
    ckpt = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 6 and ckpt["epoch"] == 1

    run_task(
        "eval",
        f"ckpt_path={resumed / 'checkpoints' / 'last.ckpt'}",
        "logger=csv",
        "extras.print_config=false",
        "trainer.limit_test_batches=2",
        "iwae.num_samples=0",
        cwd=tmp_path,
    )
    (eval_run,) = _run_dirs(tmp_path, "eval")
    result = json.loads((eval_run / "metrics.json").read_text())
    metrics = result["metrics"]
    assert metrics["test/rec_loss"] + metrics["test/kl"] == pytest.approx(metrics["test/loss"], rel=1e-5)
    assert len(result["kl_per_step"]) == TINY_NET["num_steps"]
    assert sum(result["kl_per_step"]) == pytest.approx(metrics["test/kl"], rel=1e-4)
    assert not (tmp_path / ".hydra").exists() and not (tmp_path / "outputs").exists()  # cwd untouched


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    args = [*TINY_MODEL, "debug=fdr", "data.max_per_category=100", "logger=none"]
    procs = [start_task("train", *args, cwd=tmp_path) for _ in range(2)]
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out[-2000:]
    runs = _run_dirs(tmp_path, "debug")
    assert len(runs) == 2
    assert all((r / ".hydra" / "config.yaml").is_file() for r in runs)


def test_the_same_command_again_after_a_finished_run_succeeds_with_its_best_score(tmp_path):
    """ckpt_path=auto resumes a complete run: nothing is trained, the test is rerun, and the
    optimised metric is the best checkpoint's val/loss (not a missing-metric error)."""
    run_dir = tmp_path / "run"
    command = [
        *TINY_MODEL,
        f"hydra.run.dir={run_dir}",
        "logger=csv",
        "trainer=default",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=3",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
        "data.max_per_category=300",
        "callbacks.canvas_logger.every_n_epochs=100",
    ]
    first = run_task("train", *command, cwd=tmp_path)
    second = run_task("train", *command, cwd=tmp_path)
    logged = [
        line for proc in (first, second) for line in (proc.stdout + proc.stderr).splitlines() if "val/loss = " in line
    ]
    assert len(logged) == 2 and logged[0].split("val/loss = ")[1] == logged[1].split("val/loss = ")[1], logged
    assert "nothing left to train" in second.stdout + second.stderr
    assert not (run_dir / "error.txt").exists()
