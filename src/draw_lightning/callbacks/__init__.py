"""Lightning callbacks of draw_lightning."""

from draw_lightning.callbacks.canvas_logger import CanvasLogger
from draw_lightning.callbacks.input_check import InputCheck
from draw_lightning.callbacks.kl_per_step import KLPerStepLogger
from draw_lightning.callbacks.log_flush import FlushLogsOnCheckpoint
from draw_lightning.callbacks.model_checkpoint import FiniteModelCheckpoint
from draw_lightning.callbacks.numerics import NonFiniteGuard
from draw_lightning.callbacks.preemption import CheckpointOnSigterm
from draw_lightning.callbacks.rng_state import RNGStateCheckpoint
from draw_lightning.callbacks.run_config import RunConfigLogger
from draw_lightning.callbacks.runtime_settings import RuntimeSettings
from draw_lightning.callbacks.wall_clock import WallClock
from draw_lightning.callbacks.wandb_run_id import WandbRunIdSaver

__all__ = [
    "CanvasLogger",
    "CheckpointOnSigterm",
    "FiniteModelCheckpoint",
    "FlushLogsOnCheckpoint",
    "InputCheck",
    "KLPerStepLogger",
    "NonFiniteGuard",
    "RNGStateCheckpoint",
    "RunConfigLogger",
    "RuntimeSettings",
    "WallClock",
    "WandbRunIdSaver",
]
