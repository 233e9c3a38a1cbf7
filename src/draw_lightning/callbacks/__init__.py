"""Lightning callbacks that watch and show training: canvases, KL per step, input and numeric
checks, wall clock, runtime settings, search pruning. Checkpoint callbacks live in
:mod:`draw_lightning.checkpointing`, W&B ones in :mod:`draw_lightning.tracking`."""

from draw_lightning.callbacks.canvas_logger import CanvasLogger
from draw_lightning.callbacks.input_check import InputCheck
from draw_lightning.callbacks.kl_per_step_logger import KLPerStepLogger
from draw_lightning.callbacks.non_finite_guard import NonFiniteGuard
from draw_lightning.callbacks.runtime_settings import RuntimeSettings
from draw_lightning.callbacks.wall_clock import WallClock

__all__ = [
    "CanvasLogger",
    "InputCheck",
    "KLPerStepLogger",
    "NonFiniteGuard",
    "RuntimeSettings",
    "WallClock",
]
