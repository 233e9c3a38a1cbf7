"""keep_freed_memory: a freed block is reused instead of faulting fresh pages in; die_with_parent."""

from __future__ import annotations

import platform
import subprocess
import sys
import time

import pytest

# A fresh interpreter (malloc settings are process-wide): an 8 MB block is written, freed, and a
# second 8 MB block written; prints the minor page faults of each write and the pages in a block.
# Transparent huge pages are turned off for the process, so a write faults once per page.
SCRIPT = """
import ctypes, ctypes.util, resource, sys
from draw_lightning.utils.runtime import keep_freed_memory
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
assert libc.prctl(41, 1, 0, 0, 0) == 0  # PR_SET_THP_DISABLE
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
SIZE = 8 * 2**20
def write_new_block():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(SIZE)
    ctypes.memset(block, 1, SIZE)
    return block, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
first, first_faults = write_new_block()
libc.free(first)
second, second_faults = write_new_block()
print(applied, first_faults, second_faults, SIZE // resource.getpagesize())
"""


def block_faults(mode: str) -> tuple[str, int, int, int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    applied, first, second, pages = out.stdout.split()[-4:]
    return applied, int(first), int(second), int(pages)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt and PR_SET_THP_DISABLE: glibc on Linux",
)
def test_a_freed_block_is_reused_instead_of_faulting_fresh_pages() -> None:
    applied, first, second, pages = block_faults("keep")
    assert applied == "True", "glibc on Linux: mallopt must succeed"
    assert first > pages // 2, f"writing a new 8 MB block faults its pages in: {first} of {pages}"
    assert second < pages // 20, f"the freed block is written again without faults, got {second} of {pages}"
    # The control: with glibc's defaults the first block is unmapped on free and the second faults anew.
    applied, first, second, pages = block_faults("default")
    assert applied == "None" and first > pages // 2 and second > pages // 2, (first, second, pages)


# A launcher that spawns one worker (as ddp_spawn does) and waits; the worker asks to die with it.
LAUNCHER = """
import multiprocessing as mp, sys, time
from draw_lightning.utils.runtime import die_with_parent

def worker():
    print("armed", die_with_parent(), flush=True)
    time.sleep(120)

if __name__ == "__main__":
    child = mp.get_context("spawn").Process(target=worker)
    child.start()
    print("child", child.pid, flush=True)
    child.join()
"""


@pytest.mark.skipif(sys.platform != "linux", reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_a_spawned_worker_ends_when_its_launcher_is_killed(tmp_path) -> None:
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER)
    launcher = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child_pid = int(launcher.stdout.readline().split()[1])
    assert launcher.stdout.readline().split() == ["armed", "True"]
    launcher.kill()  # SIGKILL: the launcher runs no handler of its own
    launcher.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _alive(child_pid):
        assert time.monotonic() < deadline, f"worker {child_pid} still runs after its launcher was killed"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
