"""Process-wide runtime settings applied before training."""

from __future__ import annotations

import logging

import torch

__all__ = ["apply_runtime_settings"]

log = logging.getLogger(__name__)


def apply_runtime_settings(*, flush_denormal: bool) -> None:
    """Flush denormal floats to zero on CPU: the filterbanks' Gaussian tails otherwise
    produce them and slow x86 CPUs several-fold (see benchmarks/)."""
    if flush_denormal and not torch.set_flush_denormal(True):
        log.info("flush-to-zero is not supported on this CPU; denormals are left as they are")
