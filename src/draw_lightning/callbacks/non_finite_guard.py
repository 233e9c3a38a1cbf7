"""Detect NaN/Inf in the training loss and gradients; skip that optimiser step or stop."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from torch import Tensor

__all__ = ["NonFiniteGuard"]

log = logging.getLogger(__name__)

POLICIES = ("skip", "stop")


class NonFiniteGuard(L.Callback):
    """Checks the loss (before backward) and every gradient (before the optimiser step).

    ``on_nonfinite="skip"``: the gradients are dropped, so the optimiser leaves the weights and
    its own state (e.g. Adam's moments) untouched; skips are counted in ``train/skipped_steps``.
    ``on_nonfinite="stop"``: raise :class:`FloatingPointError` naming the step and the quantity.
    """

    def __init__(self, *, on_nonfinite: str = "skip") -> None:
        if on_nonfinite not in POLICIES:
            raise ValueError(f"callbacks.non_finite_guard.on_nonfinite must be one of {POLICIES}, got {on_nonfinite!r}")
        self.on_nonfinite = on_nonfinite
        self.skipped_steps = 0
        self._bad_loss: float | None = None

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: Tensor) -> None:
        self._bad_loss = None if bool(torch.isfinite(loss.detach()).all()) else float(loss.detach().sum())

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        problem = self._find_problem(pl_module)
        # Gradients are all-reduced before this hook, but the loss is per rank: agree on one decision.
        if trainer.strategy.reduce_boolean_decision(problem is not None, all=False):
            problem = problem or "a non-finite loss or gradient on another process"
            if self.on_nonfinite == "stop":
                raise FloatingPointError(
                    f"{problem} at global step {trainer.global_step}; training stopped "
                    "(set callbacks.non_finite_guard.on_nonfinite=skip to skip such steps instead)"
                )
            self.skipped_steps += 1
            log.warning("skipping optimizer step at global step %d: %s", trainer.global_step, problem)
            # No gradients: optimisers skip parameters whose .grad is None, state included.
            optimizer.zero_grad(set_to_none=True)
        pl_module.log("train/skipped_steps", float(self.skipped_steps))

    def _find_problem(self, pl_module: L.LightningModule) -> str | None:
        if self._bad_loss is not None:
            return f"non-finite loss ({self._bad_loss})"
        for name, param in pl_module.named_parameters():
            if param.grad is not None and not bool(torch.isfinite(param.grad).all()):
                return f"non-finite gradient of {name}"
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"skipped_steps": self.skipped_steps}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped_steps = int(state_dict.get("skipped_steps", 0))
