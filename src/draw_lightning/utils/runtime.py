"""Process-wide runtime settings applied before training, evaluation and sampling."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import platform
import signal

import torch

__all__ = ["apply_runtime_settings", "die_with_parent", "keep_freed_memory"]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # prctl.h

# glibc mallopt() parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's upper bound on 64-bit
_TRIM_THRESHOLD = 2**30


def apply_runtime_settings(*, flush_denormal: bool, reuse_freed_memory: bool = True) -> None:
    """Flush denormal floats to zero on CPU: the filterbanks' Gaussian tails otherwise
    produce them and slow x86 CPUs several-fold. Keep freed memory for reuse (see
    :func:`keep_freed_memory`). Both measured in benchmarks/README.md."""
    if flush_denormal and not torch.set_flush_denormal(True):
        log.info("flush-to-zero is not supported on this CPU; denormals are left as they are")
    if reuse_freed_memory and not keep_freed_memory():
        log.info("not glibc: freed memory is handled by the C library's defaults")


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks up to 32 MB in the heap instead of unmapping them.

    By default every tensor over ~128 kB-32 MB is a fresh ``mmap``, and each 4 kB page of it
    faults on first write; DRAW allocates such tensors at every step, and the faults cost up to
    a quarter of a sampling call on the machines we measured. The price: the process keeps up to
    1 GB of freed memory for reuse rather than returning it. Returns False where not glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def die_with_parent(signum: int = signal.SIGTERM) -> bool:
    """In a spawned worker (``ddp_spawn`` rank), have Linux send ``signum`` when the parent dies.

    Without it, killing the launching process (``kill PID``, a job manager) leaves the ranks
    running on, orphaned, each holding a core. Returns False outside Linux or in a main process.
    """
    if platform.system() != "Linux" or multiprocessing.parent_process() is None:
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        return False
    # The parent may have died before the call: then nobody will send the signal.
    if multiprocessing.parent_process().pid != os.getppid():
        os.kill(os.getpid(), signum)
    return True
