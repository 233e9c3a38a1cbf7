"""Lightning callbacks of draw_lightning."""

from draw_lightning.callbacks.canvas_logger import CanvasLogger
from draw_lightning.callbacks.kl_per_step import KLPerStepLogger
from draw_lightning.callbacks.wandb_run_id import WandbRunIdSaver

__all__ = ["CanvasLogger", "KLPerStepLogger", "WandbRunIdSaver"]
