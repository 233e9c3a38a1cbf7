"""What a run records and where: W&B (runs that never hang, resumed with their checkpoint, synced
once), the CSV log continued across resumes, media for every logger, the run's config and
git state, and the traceback of a failed run."""

from draw_lightning.tracking.csv_logger import ContinuingCSVLogger
from draw_lightning.tracking.failures import run_recording_failure
from draw_lightning.tracking.media import log_gif, log_image, log_kl_per_step
from draw_lightning.tracking.run_config_logger import RunConfigLogger
from draw_lightning.tracking.wandb_run import build_wandb_logger, finish_wandb, resume_wandb_run, wandb_closed_after
from draw_lightning.tracking.wandb_run_id_saver import WandbRunIdSaver

__all__ = [
    "ContinuingCSVLogger",
    "RunConfigLogger",
    "WandbRunIdSaver",
    "build_wandb_logger",
    "finish_wandb",
    "log_gif",
    "log_image",
    "log_kl_per_step",
    "resume_wandb_run",
    "run_recording_failure",
    "wandb_closed_after",
]
