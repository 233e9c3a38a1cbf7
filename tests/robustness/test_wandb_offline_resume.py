"""An offline W&B run killed and resumed syncs as one run with each step once: a real training
process is killed with rows logged after its checkpoint, resumed in its folder, and the files that
``python -m draw_lightning.tracking.wandb_sync`` passes to ``wandb sync`` are read back with W&B's
record format. The sync rules on small hand-made run files: tests/tracking/test_wandb_sync.py."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from draw_lightning.tracking.wandb_run import WANDB_RESUMED_FROM_FILE
from draw_lightning.tracking.wandb_sync import SYNC_FOLDER, read_records, records, write_records
from tests.conftest import KILLABLE_RUN, run_env
from tests.tracking.test_wandb_sync import history

# 320 training images in batches of 16: 20 steps per epoch; a checkpoint every 6 steps.
STEPS_PER_EPOCH, EPOCHS = 20, 3
TOTAL = STEPS_PER_EPOCH * EPOCHS
RUN = (
    *KILLABLE_RUN,
    "data.max_per_category=400",
    f"trainer.max_epochs={EPOCHS}",
    "+callbacks.finite_model_checkpoint.every_n_train_steps=6",
    "logger=[csv,wandb]",  # W&B offline (run_env)
)


def run_records(file: Path) -> list:
    return [record.run for record in records(file, "run")]


def train_steps(rows: list[dict]) -> list[int]:
    return [row["trainer/global_step"] for row in rows if "train/loss" in row]


def load(path: Path) -> dict | None:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 (caught while being written)
        return None


def kill_with_rows_after_checkpoint(process: subprocess.Popen, run_dir: Path, timeout: float = 120) -> None:
    """SIGKILL once last.ckpt exists mid-training and the W&B file holds rows logged after it at
    its step or later: the rows the resumed run logs again."""
    last, deadline = run_dir / "checkpoints" / "last.ckpt", time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"training ended first:\n{process.stdout.read()[-4000:]}"
        assert time.monotonic() < deadline, "no checkpoint with rows after it within the timeout"
        ckpt = load(last) if last.exists() else None
        files = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
        if ckpt and files and 0 < ckpt["global_step"] < TOTAL - STEPS_PER_EPOCH:
            after = [r for r in history(files[0]) if r["_step"] >= ckpt["wandb_history"]["rows"]]
            if any(r.get("trainer/global_step", -1) >= ckpt["global_step"] for r in after):
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_killed_and_resumed_offline_run_syncs_every_step_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "draw_lightning.train", *RUN, f"hydra.run.dir={run_dir}"]
    first = subprocess.Popen(
        command, cwd=tmp_path, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    kill_with_rows_after_checkpoint(first, run_dir)
    assert first.returncode == -signal.SIGKILL
    stopped = load(run_dir / "checkpoints" / "last.ckpt")

    again = subprocess.run(command, cwd=tmp_path, env=run_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    killed, resumed = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert json.loads((resumed / WANDB_RESUMED_FROM_FILE).read_text()) == {
        "run_id": stopped["wandb_run_id"],
        "global_step": stopped["global_step"],
        **stopped["wandb_history"],
    }
    assert stopped["wandb_history"]["folder"] == killed.name
    # As written, the two starts together log steps after the checkpoint twice.
    (killed_file,), (resumed_file,) = killed.glob("run-*.wandb"), resumed.glob("run-*.wandb")
    naive = train_steps(history(killed_file)) + train_steps(history(resumed_file))
    assert len(naive) > len(set(naive)) and set(naive) == set(range(TOTAL))

    # The documented command (here only printed): the trimmed copy of the killed start's file,
    # then the resumed start's own file.
    helper = subprocess.run(
        [sys.executable, "-m", "draw_lightning.tracking.wandb_sync", str(run_dir), "--dry-run", "-p", "draw_test"],
        cwd=tmp_path,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helper.returncode == 0, helper.stderr[-3000:]
    copy = run_dir / "wandb" / SYNC_FOLDER / killed.name / killed_file.name
    wandb_exe, *args = helper.stdout.strip().splitlines()[-1].split(" ")
    assert Path(wandb_exe).name == "wandb"
    assert args == ["sync", str(copy), str(resumed_file), "-p", "draw_test"]
    assert (copy.parent / "files").resolve() == (killed / "files").resolve()
    files = [copy, resumed_file]

    # What wandb sync would upload: one run id, in start order, every training step once in order.
    runs = [run for file in files for run in run_records(file)]
    assert [run.run_id for run in runs] == [stopped["wandb_run_id"]] * 2
    assert runs[0].start_time.ToNanoseconds() < runs[1].start_time.ToNanoseconds()
    rows = [row for file in files for row in history(file)]
    assert train_steps(rows) == list(range(TOTAL))
    assert [row["epoch"] for row in rows if "val/loss" in row] == list(range(EPOCHS))
    media = [row["trainer/global_step"] for row in rows if any(k.startswith("canvas/generation/") for k in row)]
    assert media == sorted(set(media)) and media, media
    assert [row["_step"] for row in history(copy)] == list(range(len(history(copy))))
    # The values kept are the resumed run's, as in the CSV log (which drops the same rows).
    with (run_dir / "csv" / "metrics.csv").open() as f:
        csv_loss = {int(r["step"]): float(r["train/loss"]) for r in csv.DictReader(f) if r.get("train/loss")}
    assert {row["trainer/global_step"]: row["train/loss"] for row in rows if "train/loss" in row} == pytest.approx(
        csv_loss
    )
    # The records written are W&B's format byte for byte: a complete file re-encodes to itself.
    write_records(tmp_path / "again.wandb", read_records(resumed_file))
    assert (tmp_path / "again.wandb").read_bytes() == resumed_file.read_bytes()
