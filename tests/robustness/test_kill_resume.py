"""A training process killed with SIGKILL mid-epoch resumes exactly with ``ckpt_path=last``."""

from __future__ import annotations

import csv
import math
import signal
import time
from pathlib import Path

import torch

from tests.conftest import TINY_MODEL, run_task, start_task

# 320 training images in batches of 16: 20 steps per epoch, 40 in all; a checkpoint every 8
# steps: the first is mid-epoch, the last at the end of training.
STEPS_PER_EPOCH, EPOCHS, EVERY = 20, 2, 8
TINY_RUN = (
    *TINY_MODEL,
    "data.max_per_category=400",
    "data.batch_size=16",
    f"trainer.max_epochs={EPOCHS}",
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "trainer.log_every_n_steps=1",
    "trainer.limit_val_batches=2",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
    f"+callbacks.finite_model_checkpoint.every_n_train_steps={EVERY}",
    "callbacks.finite_model_checkpoint.monitor=null",
    "callbacks.finite_model_checkpoint.filename='step_{step:03d}'",
    "extras.print_config=false",
    "test=false",
    "logger=csv",  # metrics.csv is compared below
    "seed=7",
)


def run_dir(root: Path) -> Path:
    (path,) = (root / "logs" / "train" / "runs").iterdir()
    return path


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def metric_rows(run: Path) -> list[dict[str, str]]:
    (path,) = run.glob("**/metrics.csv")
    with path.open() as f:
        return list(csv.DictReader(f))


def train_losses(rows: list[dict[str, str]]) -> dict[int, float]:
    """``{logger step: train/loss}``, failing on a step logged twice."""
    losses: dict[int, float] = {}
    for row in rows:
        if row.get("train/loss"):
            step = int(row["step"])
            assert step not in losses, f"step {step} logged twice"
            losses[step] = float(row["train/loss"])
    return losses


def kill_after_first_checkpoint(process, last: Path, timeout: float = 90) -> None:
    """SIGKILL once a checkpoint exists and the log row of its last step is on disk.

    That row is logged just after the checkpoint and flushed at the next batch start; a kill in
    those few milliseconds loses the one row (documented in checkpointing/flush_logs_on_checkpoint.py).
    """
    deadline = time.monotonic() + timeout
    run = last.parents[1]
    while True:
        assert process.poll() is None, f"training ended before a checkpoint: {process.stdout.read()[-3000:]}"
        assert time.monotonic() < deadline, "no checkpoint within the timeout"
        if last.exists() and (run / "csv" / "metrics.csv").exists():
            done = load(last)["global_step"]
            try:
                if done - 1 in train_losses(metric_rows(run)):
                    break
            except (ValueError, KeyError):  # the CSV caught mid-write; read it again
                pass
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    reference = start_task("train", *TINY_RUN, cwd=tmp_path / "reference")
    interrupted = start_task("train", *TINY_RUN, cwd=tmp_path / "interrupted")
    # The run folder appears when Hydra starts; last.ckpt when the first checkpoint is written.
    deadline = time.monotonic() + 60
    while not (tmp_path / "interrupted" / "logs" / "train" / "runs").exists():
        assert interrupted.poll() is None and time.monotonic() < deadline, interrupted.stdout.read()[-3000:]
        time.sleep(0.02)
    killed_run = run_dir(tmp_path / "interrupted")
    kill_after_first_checkpoint(interrupted, killed_run / "checkpoints" / "last.ckpt")
    assert interrupted.returncode == -signal.SIGKILL

    resumed_step = load(killed_run / "checkpoints" / "last.ckpt")["global_step"]
    assert resumed_step % STEPS_PER_EPOCH != 0, "the kill should come mid-epoch"
    resumed = run_task("train", *TINY_RUN, "ckpt_path=last", cwd=tmp_path / "interrupted", check=False)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert reference.wait(timeout=120) == 0, reference.stdout.read()[-3000:]

    (resumed_run,) = (p for p in (tmp_path / "interrupted" / "logs" / "train" / "runs").iterdir() if p != killed_run)
    expected = load(run_dir(tmp_path / "reference") / "checkpoints" / "last.ckpt")
    actual = load(resumed_run / "checkpoints" / "last.ckpt")

    assert actual["global_step"] == expected["global_step"] == STEPS_PER_EPOCH * EPOCHS
    assert actual["epoch"] == expected["epoch"]
    for name, value in expected["state_dict"].items():
        torch.testing.assert_close(actual["state_dict"][name], value, rtol=1e-5, atol=1e-6, msg=name)
    # Adam's moments and step counts, and the cosine schedule's position.
    for (key, saved), (_, resumed_state) in zip(
        expected["optimizer_states"][0]["state"].items(), actual["optimizer_states"][0]["state"].items(), strict=True
    ):
        for field in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(resumed_state[field], saved[field], rtol=1e-5, atol=1e-7, msg=f"{key}.{field}")
    assert actual["lr_schedulers"] == expected["lr_schedulers"]

    # Logs: the killed run up to the checkpoint plus the resumed run = the uninterrupted run's log.
    killed = {s: v for s, v in train_losses(metric_rows(killed_run)).items() if s < resumed_step}
    after = train_losses(metric_rows(resumed_run))
    assert min(after) == resumed_step and not set(killed) & set(after)
    combined = killed | after
    uninterrupted = train_losses(metric_rows(run_dir(tmp_path / "reference")))
    assert sorted(combined) == sorted(uninterrupted) == list(range(STEPS_PER_EPOCH * EPOCHS))
    for step, loss in uninterrupted.items():
        assert math.isclose(combined[step], loss, rel_tol=1e-5), (step, combined[step], loss)
