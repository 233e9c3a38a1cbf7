"""SIGTERM to a real training process: last.ckpt saved, exit code 0, ``ckpt_path=last`` resumes."""

from __future__ import annotations

import csv
import re
import signal
import time
from pathlib import Path

import torch

from tests.conftest import KILLABLE_RUN, run_task, start_task

STEPS_PER_EPOCH = 20  # 320 training images in batches of 16
TINY_RUN = (
    *KILLABLE_RUN,
    "data.max_per_category=400",
    "+callbacks.finite_model_checkpoint.every_n_train_steps=5",
    "logger=csv",  # the resumed run's metrics.csv is checked below
)


def test_sigterm_saves_last_checkpoint_exits_cleanly_and_resumes(tmp_path: Path) -> None:
    process = start_task("train", *TINY_RUN, "trainer.max_epochs=1000", cwd=tmp_path)
    runs = tmp_path / "logs" / "train" / "runs"
    deadline = time.monotonic() + 120
    while not list(runs.glob("*/checkpoints/last.ckpt")):  # training is under way
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()[-3000:]
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output[-3000:]

    (run,) = runs.iterdir()
    saved = re.search(r"SIGTERM at global step (\d+): saved (\S+last\.ckpt)", output)
    assert saved, output[-3000:]
    step = int(saved.group(1))
    assert Path(saved.group(2)) == run / "checkpoints" / "last.ckpt"
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == step >= 5

    epochs = step // STEPS_PER_EPOCH + 2  # at least one more epoch boundary after the resume
    resumed = run_task("train", *TINY_RUN, f"trainer.max_epochs={epochs}", "ckpt_path=last", cwd=tmp_path, check=False)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    (resumed_run,) = (p for p in runs.iterdir() if p != run)
    assert (
        torch.load(resumed_run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        == epochs * STEPS_PER_EPOCH
    )
    with next(resumed_run.glob("**/metrics.csv")).open() as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r.get("train/loss")]
    assert steps[0] == step and steps == list(range(step, epochs * STEPS_PER_EPOCH))
