"""``torch.compile`` for DRAW's step, with a fallback to eager where no compiler is installed."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from importlib.util import find_spec

import torch

__all__ = ["compiled_or_eager", "compiler_available"]


def compiler_available(device: torch.device) -> bool:
    """Whether inductor can build kernels here: a C++ compiler on CPU, Triton on GPU."""
    if device.type == "cuda":
        return find_spec("triton") is not None
    return any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++"))


def compiled_or_eager(fn: Callable, *, device: torch.device, mode: str = "default") -> Callable:
    """``torch.compile(fn, mode=mode)`` (static shapes), or ``fn`` itself with a warning if nothing can compile.

    ``mode="reduce-overhead"`` replays CUDA graphs on a GPU (on a CPU it compiles as ``default``).
    """
    if not compiler_available(device):
        warnings.warn(
            f"compile_step: no compiler for {device.type} (a C++ compiler on CPU, Triton on GPU); "
            "running the step eagerly",
            stacklevel=3,
        )
        return fn
    return torch.compile(fn, dynamic=False, mode=mode)
