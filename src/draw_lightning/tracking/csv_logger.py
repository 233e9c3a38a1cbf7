"""A CSV logger that continues a resumed run's ``metrics.csv``: Lightning's deletes the file when
a run starts again in its folder (``ckpt_path=auto`` after a requeue), losing the rows before."""

from __future__ import annotations

import csv

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

__all__ = ["ContinuingCSVLogger", "csv_rows"]


def csv_rows(logger: CSVLogger) -> int:
    """Rows in ``logger``'s ``metrics.csv`` on disk (0 when there is none yet)."""
    path = logger.experiment.metrics_file_path
    if not logger.experiment._fs.isfile(path):
        return 0
    with logger.experiment._fs.open(path, "r", newline="") as file:
        return sum(1 for _ in csv.DictReader(file))


class _ContinuingWriter(ExperimentWriter):
    """Keeps an existing ``metrics.csv`` and its columns. At the first save, rows of the steps this
    run logs again (those a killed run logged after its last checkpoint) are dropped.

    ``rows_at_checkpoint`` (set from the resumed checkpoint, :class:`FlushLogsOnCheckpoint`): the
    file's rows when the checkpoint was written are all kept, so an end-of-epoch validation row at
    the checkpoint's own step survives; without it, every row from the resumed first step on goes.
    """

    rows_at_checkpoint: int | None = None

    def _check_log_dir_exists(self) -> None:  # called by __init__ instead of deleting the file
        self._continues = self._fs.isfile(self.metrics_file_path)
        if self._continues:
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = list(csv.DictReader(file).fieldnames or [])

    def save(self) -> None:
        if self._continues and self.metrics:
            self._continues = False
            first = min(row["step"] for row in self.metrics)
            kept_rows = self.rows_at_checkpoint or 0
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                earlier = [
                    row
                    for index, row in enumerate(csv.DictReader(file))
                    if index < kept_rows or (row.get("step") and float(row["step"]) < first)
                ]
            with self._fs.open(self.metrics_file_path, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(earlier)
        super().save()


class ContinuingCSVLogger(CSVLogger):
    """Lightning's :class:`CSVLogger`, but a run resumed in its own folder appends to its
    ``metrics.csv`` (see :class:`_ContinuingWriter`)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> _ContinuingWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(log_dir=self.log_dir)
        return self._experiment
