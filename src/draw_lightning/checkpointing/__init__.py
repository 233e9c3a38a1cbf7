"""Checkpointing and resume: what a checkpoint holds, how it is written, and how a run finds the
checkpoint it continues from (``ckpt_path=auto|last|<file>``)."""

from draw_lightning.checkpointing.atomic_io import AtomicCheckpointIO, atomic_torch_save
from draw_lightning.checkpointing.checkpoint_on_sigterm import CheckpointOnSigterm
from draw_lightning.checkpointing.finite_model_checkpoint import FiniteModelCheckpoint
from draw_lightning.checkpointing.flush_logs_on_checkpoint import FlushLogsOnCheckpoint
from draw_lightning.checkpointing.format import check_checkpoint, stamp_checkpoint, upgrade_legacy_optimization
from draw_lightning.checkpointing.resume import LAST_CKPT, SameRuns, own_checkpoint, resolve_ckpt_path
from draw_lightning.checkpointing.rng_state_checkpoint import RNGStateCheckpoint

__all__ = [
    "LAST_CKPT",
    "AtomicCheckpointIO",
    "CheckpointOnSigterm",
    "FiniteModelCheckpoint",
    "FlushLogsOnCheckpoint",
    "RNGStateCheckpoint",
    "SameRuns",
    "atomic_torch_save",
    "check_checkpoint",
    "own_checkpoint",
    "resolve_ckpt_path",
    "stamp_checkpoint",
    "upgrade_legacy_optimization",
]
