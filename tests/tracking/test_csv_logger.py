"""A run resumed in its own folder appends to its metrics.csv instead of deleting it."""

from __future__ import annotations

import csv
from pathlib import Path

from draw_lightning.tracking.csv_logger import ContinuingCSVLogger


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_a_resumed_run_keeps_the_rows_before_its_checkpoint(tmp_path: Path) -> None:
    first = ContinuingCSVLogger(tmp_path, name="csv", version="")
    for step in range(8):  # killed after step 7; its checkpoint was at step 5
        first.log_metrics({"train/loss": 10.0 - step}, step=step)
    first.save()

    resumed = ContinuingCSVLogger(tmp_path, name="csv", version="")
    for step in range(5, 10):
        resumed.log_metrics({"train/loss": 100.0 + step}, step=step)
    resumed.log_metrics({"val/loss": 1.5}, step=9)  # a new column
    resumed.save()

    (path,) = tmp_path.glob("csv/metrics.csv")
    logged = rows(path)
    assert [int(r["step"]) for r in logged] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]
    assert [float(r["train/loss"]) for r in logged[:5]] == [10.0, 9.0, 8.0, 7.0, 6.0]
    assert [float(r["train/loss"]) for r in logged[5:10]] == [105.0, 106.0, 107.0, 108.0, 109.0]
    assert logged[-1]["val/loss"] == "1.5" and logged[0]["val/loss"] == ""


def test_a_fresh_run_writes_a_new_file(tmp_path: Path) -> None:
    logger = ContinuingCSVLogger(tmp_path, name="csv", version="")
    logger.log_metrics({"a": 1.0}, step=0)
    logger.save()
    assert rows(tmp_path / "csv" / "metrics.csv") == [{"a": "1.0", "step": "0"}]


def test_rows_written_before_the_checkpoint_are_kept_even_at_its_step(tmp_path: Path) -> None:
    """End of epoch: the validation row at step 10 is written before the checkpoint at step 10, the
    killed run then logs training steps 10 and 11, which the resumed run logs again."""
    first = ContinuingCSVLogger(tmp_path, name="csv", version="")
    for step in range(10):
        first.log_metrics({"train/loss": float(step)}, step=step)
    first.log_metrics({"val/loss": 0.5}, step=10)
    first.save()
    rows_at_checkpoint = len(rows(tmp_path / "csv" / "metrics.csv"))
    for step in (10, 11):
        first.log_metrics({"train/loss": -1.0}, step=step)
    first.save()

    resumed = ContinuingCSVLogger(tmp_path, name="csv", version="")
    resumed.experiment.rows_at_checkpoint = rows_at_checkpoint
    for step in (10, 11, 12):
        resumed.log_metrics({"train/loss": 100.0 + step}, step=step)
    resumed.save()

    logged = rows(tmp_path / "csv" / "metrics.csv")
    assert [r["step"] for r in logged] == [str(s) for s in range(10)] + ["10", "10", "11", "12"]
    assert logged[10]["val/loss"] == "0.5"  # kept: the rule of steps alone would drop it
    assert [r["train/loss"] for r in logged[11:]] == ["110.0", "111.0", "112.0"]
