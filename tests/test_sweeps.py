"""Multiruns through the real CLI: the basic grid, a crashing job, run groups (Optuna: test_search.py)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_task, tiny_model

# A tiny DRAW on 200 cats for one short epoch: each job takes about a second.
TINY = [
    "data.max_per_category=200",
    "data.batch_size=16",
    *tiny_model(read_n=None, num_steps=None),  # read_n and T are what the grids sweep
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
    "logger=csv",  # the tests read each job's metrics.csv
]


def sweep_dir(root: Path) -> Path:
    """The one multirun folder under ``root/logs/train/multiruns``."""
    (folder,) = (root / "logs" / "train" / "multiruns").iterdir()
    return folder


def job_dirs(sweep: Path) -> list[Path]:
    return sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def last_metric(job: Path, name: str) -> float:
    """The last value of ``name`` in the job's CSV log."""
    with open(job / "csv" / "metrics.csv") as f:
        values = [float(row[name]) for row in csv.DictReader(f) if row.get(name)]
    assert values, f"{name} never logged in {job}"
    return values[-1]


def returned_metric(job: Path) -> float:
    """The optimised metric the task returned, as logged by train.main."""
    match = re.search(r"val/loss = ([0-9.]+) \(run folder (\S+)\)", (job / "train.log").read_text())
    assert match, f"no returned metric in {job / 'train.log'}"
    assert Path(match.group(2)) == job
    return float(match.group(1))


def overrides(job: Path) -> dict[str, str]:
    return dict(o.split("=", 1) for o in yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()))


def test_grid_multirun_runs_each_job_in_its_folder(tmp_path: Path) -> None:
    result = run_task("train", "hparams_search=read_steps_grid", *TINY, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    jobs = job_dirs(sweep)
    assert [j.name for j in jobs] == ["0", "1", "2", "3"]
    grid = {(overrides(j)["model.net.read_n"], overrides(j)["model.net.num_steps"]) for j in jobs}
    assert grid == {("2", "10"), ("2", "20"), ("5", "10"), ("5", "20")}
    for job in jobs:
        assert (job / "checkpoints" / "last.ckpt").is_file()
        val = last_metric(job, "val/loss")
        assert math.isfinite(val) and math.isfinite(last_metric(job, "test/loss"))
        assert returned_metric(job) == pytest.approx(val, abs=1e-4)
        # every job of the sweep names the same group, derived from the sweep folder
        assert f"run_group: train-{sweep.name}\n" in (job / "train.log").read_text()
        assert not (job / "error.txt").exists()


def test_a_crashing_job_is_recorded_and_the_others_run(tmp_path: Path) -> None:
    missing = tmp_path / "missing.ckpt"
    result = run_task("train", "-m", f"ckpt_path={missing},null", *TINY, cwd=tmp_path, check=False)
    # Hydra's basic sweeper runs the whole batch, then reports the failure: non-zero exit
    assert result.returncode != 0
    assert "ckpt_path=" in result.stderr and "missing.ckpt" in result.stderr
    crashed, finished = job_dirs(sweep_dir(tmp_path))
    error = (crashed / "error.txt").read_text()
    assert "FileNotFoundError" in error and f"ckpt_path={missing}: no such checkpoint file" in error
    assert not (crashed / "checkpoints").exists()
    assert not (finished / "error.txt").exists()
    assert math.isfinite(last_metric(finished, "val/loss"))
    assert returned_metric(finished) == pytest.approx(last_metric(finished, "val/loss"), abs=1e-4)
