"""Optimiser and learning-rate schedule from Hydra partials (``conf/model/optimizer``, ``conf/model/scheduler``).

``model.optimizer`` is any ``torch.optim`` class as a partial: ``_target_``, ``_partial_: true``
and its keywords. ``model.scheduler`` is Lightning's ``lr_scheduler`` dict whose ``scheduler``
is such a partial of a ``torch.optim.lr_scheduler`` class (``interval``, ``frequency``,
``monitor`` as Lightning reads them), or null for a constant rate. Configs are plain dicts, so
checkpoints keep them without Hydra; :func:`check_optimization` builds both on a dummy
parameter, so a bad value fails before anything else is built, naming the key.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate

__all__ = ["build_optimizer", "build_scheduler", "check_optimization"]

# Keywords of a schedule's length: filled with the run's length when the config leaves them null.
RUN_LENGTH_KEYWORDS = ("T_max", "total_steps", "total_iters")
LIGHTNING_SCHEDULER_KEYS = ("interval", "frequency", "monitor", "strict", "name")


def _partial(config: dict[str, Any], key: str, base: type) -> Any:
    """``instantiate(config)`` checked to be a partial of a subclass of ``base``."""
    config = dict(config or {})
    target = config.get("_target_")
    if not target:
        raise ValueError(f"{key}._target_ must name a {base.__module__}.{base.__name__} class, got {target!r}")
    try:
        cls = get_class(target)
    except Exception as err:  # Hydra raises ImportError or ValueError
        raise ValueError(f"{key}._target_={target!r} cannot be imported: {err}") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"{key}._target_={target!r} is not a {base.__module__}.{base.__name__}")
    if config.get("_partial_") is not True:
        raise ValueError(f"{key}._partial_ must be true (the model's parameters are passed in later)")
    kwargs = {k: v for k, v in config.items() if not k.startswith("_")}
    unknown = sorted(set(kwargs) - set(inspect.signature(cls).parameters))
    if unknown:
        raise ValueError(f"{key}: {cls.__name__} takes no keyword {', '.join(map(repr, unknown))}")
    try:
        return instantiate(config)
    except InstantiationException as err:
        raise ValueError(f"{key}: {err}") from None


def build_optimizer(params: Iterable[torch.nn.Parameter], config: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimiser of ``model.optimizer`` over ``params``."""
    lr = (config or {}).get("lr")
    if lr is not None and not lr > 0:
        raise ValueError(f"model.optimizer.lr must be > 0, got {lr}")
    factory = _partial(config, "model.optimizer", torch.optim.Optimizer)
    try:
        return factory(params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model.optimizer: {err}") from None


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: dict[str, Any] | None, *, run_steps: int, run_epochs: int
) -> dict[str, Any] | None:
    """Lightning's ``lr_scheduler`` dict of ``model.scheduler``, or None for a constant rate.

    A null ``T_max``/``total_steps``/``total_iters`` becomes the run's length in the schedule's
    ``interval``: ``run_steps`` optimiser steps or ``run_epochs`` epochs.
    """
    if not config:
        return None
    config = dict(config)
    unknown = sorted(set(config) - {"scheduler", *LIGHTNING_SCHEDULER_KEYS})
    if unknown:
        raise ValueError(
            f"model.scheduler takes scheduler (a partial) and Lightning's {', '.join(LIGHTNING_SCHEDULER_KEYS)}; "
            f"got {', '.join(map(repr, unknown))}"
        )
    interval = config.get("interval", "epoch")
    if interval not in ("step", "epoch"):
        raise ValueError(f"model.scheduler.interval must be step or epoch, got {interval!r}")
    schedule = dict(config.pop("scheduler", None) or {})
    base = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    factory = _partial(schedule, "model.scheduler.scheduler", base)
    length = run_steps if interval == "step" else run_epochs
    fill = {k: length for k in RUN_LENGTH_KEYWORDS if k in schedule and schedule[k] is None}
    if fill and not 1 <= length < 2**31:
        raise ValueError(
            f"model.scheduler.scheduler.{next(iter(fill))} must be set when the trainer sets neither max_steps "
            f"nor max_epochs (the run's length is unknown)"
        )
    try:
        scheduler = factory(optimizer, **fill)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model.scheduler.scheduler: {err}") from None
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        config.setdefault("monitor", "val/loss")
    return {"scheduler": scheduler, **config}


def check_optimization(optimizer: dict[str, Any] | None, scheduler: dict[str, Any] | None) -> None:
    """Build both on a dummy parameter: raise ValueError naming the key of a bad value."""
    if not optimizer:
        raise ValueError("model.optimizer must be set: a torch.optim class as a partial (conf/model/optimizer/)")
    dummy = build_optimizer([torch.nn.Parameter(torch.zeros(1))], optimizer)
    build_scheduler(dummy, scheduler, run_steps=1, run_epochs=1)
