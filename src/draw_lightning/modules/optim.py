"""Optimiser and learning-rate schedule from plain config values (checkpoint-safe)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["build_optimizer", "build_scheduler"]


def build_optimizer(
    params: Iterable[torch.nn.Parameter], *, name: str, lr: float, weight_decay: float = 0.0, **extra: Any
) -> torch.optim.Optimizer:
    """Adam (the DRAW paper) or RMSprop (the Quick, Draw! experiments)."""
    if lr <= 0:
        raise ValueError(f"optimizer.lr must be > 0, got {lr}")
    optimizers = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
    if name not in optimizers:
        raise ValueError(f"optimizer.name must be one of {sorted(optimizers)}, got {name!r}")
    return optimizers[name](params, lr=lr, weight_decay=weight_decay, **extra)


def build_scheduler(optimizer: torch.optim.Optimizer, *, name: str, **kwargs: Any) -> dict[str, Any] | None:
    """A Lightning ``lr_scheduler`` dict, or None for ``name: none``.

    ``cosine`` (``T_max`` steps), ``step`` (``step_size``, ``gamma`` in epochs), ``exponential``
    (``gamma`` per epoch), ``plateau`` (on ``val/loss``).
    """
    if name == "none":
        return None
    if name == "cosine":
        return {"scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, **kwargs), "interval": "step"}
    if name == "step":
        return {"scheduler": torch.optim.lr_scheduler.StepLR(optimizer, **kwargs), "interval": "epoch"}
    if name == "exponential":
        return {"scheduler": torch.optim.lr_scheduler.ExponentialLR(optimizer, **kwargs), "interval": "epoch"}
    if name == "plateau":
        return {
            "scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs),
            "monitor": "val/loss",
            "interval": "epoch",
        }
    raise ValueError(f"scheduler.name must be one of none, cosine, step, exponential, plateau; got {name!r}")
