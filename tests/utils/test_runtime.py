"""keep_freed_memory: repeated generation stops page-faulting fresh memory in."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

# A fresh interpreter (malloc settings are process-wide): minor page faults per generate() call,
# with glibc's defaults and then with freed memory kept.
SCRIPT = """
import resource, torch
from draw_lightning.models import DRAW
from draw_lightning.utils.runtime import keep_freed_memory
torch.set_num_threads(1)
model = DRAW(image_shape=(1, 28, 28), num_steps=16)
noise = torch.randn(16, 100, model.z_dim)
def faults_per_call():
    for _ in range(3):  # warm-up: the heap grows to the working set once
        model.generate(100, noise=noise)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        model.generate(100, noise=noise)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
default = faults_per_call()
print(keep_freed_memory(), default, faults_per_call())
"""


def test_generation_reuses_freed_memory_instead_of_faulting_new_pages() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    applied, default, kept = out.stdout.split()[-3:]
    assert applied == "True", "glibc on Linux: mallopt must succeed"
    assert float(default) > 500, f"glibc's defaults fault in new pages on every call here, got {default}"
    assert float(kept) < 0.1 * float(default), (default, kept)


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
