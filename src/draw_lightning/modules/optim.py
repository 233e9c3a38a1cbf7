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


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    name: str,
    max_steps: int = -1,
    t_max: int | None = None,
    eta_min: float = 0.0,
    step_size: int = 10,
    gamma: float = 0.5,
    factor: float = 0.5,
    patience: int = 5,
) -> dict[str, Any] | None:
    """A Lightning ``lr_scheduler`` dict, or None for ``name: none``.

    ``cosine`` anneals per step over ``t_max`` (default ``max_steps``: the run's optimizer steps,
    from ``trainer.max_steps`` or ``max_epochs``); ``step`` and
    ``exponential`` decay per epoch; ``plateau`` watches ``val/loss``.
    """
    sched = torch.optim.lr_scheduler
    if name == "none":
        return None
    if name == "cosine":
        t_max = t_max or max_steps
        if t_max is None or not 1 <= t_max < 2**31:
            raise ValueError(
                "model.scheduler.t_max must be set (>= 1) for cosine when the trainer sets neither max_steps "
                f"nor max_epochs (got t_max={t_max})"
            )
        return {"scheduler": sched.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=eta_min), "interval": "step"}
    if name == "step":
        return {"scheduler": sched.StepLR(optimizer, step_size=step_size, gamma=gamma), "interval": "epoch"}
    if name == "exponential":
        return {"scheduler": sched.ExponentialLR(optimizer, gamma=gamma), "interval": "epoch"}
    if name == "plateau":
        plateau = sched.ReduceLROnPlateau(optimizer, factor=factor, patience=patience)
        return {"scheduler": plateau, "monitor": "val/loss", "interval": "epoch"}
    raise ValueError(f"model.scheduler.name must be one of none, cosine, step, exponential, plateau; got {name!r}")
