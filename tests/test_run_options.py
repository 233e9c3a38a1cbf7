"""Options that change how a training run goes: early stopping (callbacks=[default,early_stopping])
and the profiler of debug=profile, each in a real short run."""

from __future__ import annotations

import csv
import re

import torch

from draw_lightning.train import train
from tests.conftest import TINY_MODEL

SHORT = [
    *TINY_MODEL,
    "data.max_per_category=100",
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.num_sanity_val_steps=0",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
    "extras.print_config=false",
]


def test_early_stopping_stops_a_run_whose_val_loss_does_not_improve(compose_train, tmp_path):
    # no fall of val/loss can beat a min_delta of 1e9 nats: the second validation ends the run
    cfg = compose_train(
        [
            *SHORT,
            "callbacks=[default,early_stopping]",
            "callbacks.early_stopping.patience=1",
            "callbacks.early_stopping.min_delta=1e9",
            "trainer.max_epochs=5",
            "trainer.limit_train_batches=1",
            "trainer.limit_val_batches=1",
            "test=false",
        ]
    )
    assert cfg.callbacks.early_stopping.monitor == "val/loss" and cfg.callbacks.early_stopping.mode == "min"
    train(cfg)
    run = tmp_path / "run"
    with open(run / "csv" / "metrics.csv") as f:
        assert len([row for row in csv.DictReader(f) if row.get("val/loss")]) == 2  # of max_epochs=5
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    (state,) = [v for k, v in ckpt["callbacks"].items() if k.startswith("EarlyStopping")]
    assert ckpt["epoch"] == 1 and state["stopped_epoch"] == 1 and state["wait_count"] == 1


def test_early_stopping_is_off_by_default(compose_train):
    assert "early_stopping" not in compose_train([]).callbacks


def test_debug_profile_writes_the_profilers_report_into_the_run_folder(compose_train, tmp_path):
    cfg = compose_train(["debug=profile", *SHORT, "trainer.limit_train_batches=3"])
    assert cfg.task_name == "debug" and cfg.trainer.devices == 1
    train(cfg)
    fit = (tmp_path / "run" / "profiler" / "fit-profile.txt").read_text()
    assert "FIT Profiler Report" in fit and "training_step" in fit and "run_training_batch" in fit
    assert re.search(r"\|\s+\[Strategy\]\w+\.training_step\s+\|", fit)  # a row of the table, with its times
    assert (tmp_path / "run" / "profiler" / "test-profile.txt").is_file()
