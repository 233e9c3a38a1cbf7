"""draw_lightning.tracking.wandb_sync on small hand-made W&B run files: which rows of a killed and
resumed offline run are synced (the real kill and resume: tests/robustness/test_wandb_offline_resume.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from draw_lightning.tracking.wandb_run import WANDB_RESUMED_FROM_FILE
from draw_lightning.tracking.wandb_sync import SYNC_FOLDER, records, sync_files, write_records

pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")


def history(file: Path) -> list[dict]:
    """The history rows of a W&B run file: key -> value."""
    return [
        {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
        for record in records(file, "history")
    ]


# Hand-made run files: each start is (folder, start time, [(global step, keys)], resumed_from).
def make_run(wandb_dir: Path, folder: str, start: int, rows: list[tuple[int, str]], resumed_from=None) -> Path:
    made = [pb.Record(run=pb.RunRecord(run_id="abc"))]
    made[0].run.start_time.FromSeconds(start)
    for count, (step, key) in enumerate(rows):
        record = pb.Record()
        for name, value in (("_step", count), ("trainer/global_step", step), (key, 1.0)):
            record.history.item.add(key=name, value_json=json.dumps(value))
        made.append(record)
    file = wandb_dir / folder / "run-abc.wandb"
    write_records(file, (r.SerializeToString() for r in made))
    if resumed_from:
        (file.parent / WANDB_RESUMED_FROM_FILE).write_text(json.dumps({"run_id": "abc", **resumed_from}))
    return file


def synced_rows(run_dir: Path) -> list[tuple[int, str]]:
    return [
        (row["trainer/global_step"], next(k for k in row if not k.startswith(("_", "trainer"))))
        for file in sync_files(run_dir)
        for row in history(file)
    ]


def test_rows_logged_before_the_checkpoint_stay_and_the_others_go(tmp_path: Path) -> None:
    """Checkpoint at step 2 written after 3 rows (an epoch end: its media row at step 2 stays); the
    training row of step 1, logged just after the checkpoint, stays; the rows from step 2 go."""
    wandb_dir = tmp_path / "wandb"
    first = [(0, "train"), (1, "val"), (2, "media"), (1, "train"), (2, "train"), (3, "train")]
    make_run(wandb_dir, "offline-run-20260101_000000-abc", 100, first)
    resumed = {"global_step": 2, "folder": "offline-run-20260101_000000-abc", "rows": 3}
    make_run(wandb_dir, "offline-run-20260101_000100-abc", 200, [(2, "train"), (3, "train")], resumed)
    assert synced_rows(tmp_path) == [(0, "train"), (1, "val"), (2, "media"), (1, "train"), (2, "train"), (3, "train")]
    assert [p.relative_to(tmp_path).parts[:2] for p in sync_files(tmp_path)] == [
        ("wandb", SYNC_FOLDER),
        ("wandb", "offline-run-20260101_000100-abc"),
    ]


def test_three_starts_and_a_start_without_checkpoint(tmp_path: Path) -> None:
    """Start 2 resumed start 1's checkpoint at step 2, was killed before its next checkpoint;
    start 3 resumed the same checkpoint again: start 2's rows from step 2 go as well."""
    wandb_dir = tmp_path / "wandb"
    make_run(wandb_dir, "offline-run-20260101_000000-abc", 100, [(0, "train"), (1, "train"), (2, "train")])
    resumed = {"global_step": 2, "folder": "offline-run-20260101_000000-abc", "rows": 2}
    make_run(wandb_dir, "offline-run-20260101_000100-abc", 200, [(2, "train"), (3, "train")], resumed)
    make_run(wandb_dir, "offline-run-20260101_000200-abc", 300, [(2, "train"), (3, "train"), (4, "train")], resumed)
    assert [step for step, _ in synced_rows(tmp_path)] == [0, 1, 2, 3, 4]


def test_without_the_resume_record_the_next_starts_first_step_decides(tmp_path: Path) -> None:
    wandb_dir = tmp_path / "wandb"
    make_run(wandb_dir, "offline-run-20260101_000000-abc", 100, [(0, "train"), (1, "train"), (2, "train")])
    make_run(wandb_dir, "offline-run-20260101_000100-abc", 200, [(1, "train"), (2, "train")])
    assert [step for step, _ in synced_rows(tmp_path)] == [0, 1, 2]


def test_a_run_never_resumed_is_synced_from_its_own_file(tmp_path: Path) -> None:
    file = make_run(tmp_path / "wandb", "offline-run-20260101_000000-abc", 100, [(0, "train"), (1, "train")])
    killed_at_start = tmp_path / "wandb" / "offline-run-20260101_000100-abc" / "run-abc.wandb"
    killed_at_start.parent.mkdir()
    killed_at_start.write_bytes(b"")  # killed as W&B started: no run record, skipped
    assert sync_files(tmp_path) == [file]
    assert not (tmp_path / "wandb" / SYNC_FOLDER).exists()
