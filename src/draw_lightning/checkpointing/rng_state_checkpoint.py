"""Global random-number-generator states kept in checkpoints and restored on resume."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch

__all__ = ["RNGStateCheckpoint", "get_rng_states", "set_rng_states"]


def get_rng_states() -> dict[str, Any]:
    """The states of python's, numpy's and torch's (CPU and CUDA) global generators."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        # Plain python values: checkpoints stay loadable with torch.load(weights_only=True).
        "numpy": _plain_numpy_state(np.random.get_state()),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["torch_cuda"] = torch.cuda.get_rng_state_all()
    return states


def _plain_numpy_state(state: tuple) -> tuple:
    kind, keys, pos, has_gauss, cached = state
    return (str(kind), [int(k) for k in keys], int(pos), int(has_gauss), float(cached))


def set_rng_states(states: dict[str, Any]) -> None:
    """Inverse of :func:`get_rng_states`."""
    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "torch_cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch_cuda"])


class RNGStateCheckpoint(L.Callback):
    """Saves the global RNG states with each checkpoint and restores them when training resumes.

    DRAW draws its latent noise from torch's global generator, so without this a resumed run
    continues with the fresh seed's stream and diverges from an uninterrupted one. Restored in
    ``on_train_start``, after Lightning rebuilt the data iterators, just before the first step.
    Each process keeps its own states (a checkpoint holds rank 0's).
    """

    def __init__(self) -> None:
        self._states_to_restore: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return get_rng_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._states_to_restore = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._states_to_restore is not None:
            set_rng_states(self._states_to_restore)
            self._states_to_restore = None
