"""A run resumed in its own folder appends to its metrics.csv instead of deleting it."""

from __future__ import annotations

import csv
from pathlib import Path

from draw_lightning.utils.csv_log import ContinuingCSVLogger


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
