"""A failed run leaves its traceback in its own folder, then fails as usual.

In a multirun the sweeper sees the failure too: the basic sweeper still runs the other jobs of
the batch and exits non-zero at the end; ``python -m draw_lightning.search`` marks the Optuna
trial failed and goes on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from draw_lightning.tracking.wandb_run import wandb_closed_after

__all__ = ["ERROR_FILE", "run_recording_failure"]

log = logging.getLogger(__name__)

ERROR_FILE = "error.txt"
Result = TypeVar("Result")


def run_recording_failure(task: Callable[[], Result], *, output_dir: Path) -> Result:
    """Run ``task()``; on an exception write its traceback to ``output_dir/error.txt`` and re-raise.

    A W&B run left open is finished either way (marked failed on error), so the next job of a
    multirun run in this process starts its own W&B run.
    """
    with wandb_closed_after():
        try:
            return task()
        except Exception:
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / ERROR_FILE).write_text(traceback.format_exc())
            log.error("run failed; traceback in %s", output_dir / ERROR_FILE)
            raise
