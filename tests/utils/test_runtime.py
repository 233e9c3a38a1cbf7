"""keep_freed_memory: repeated generation stops page-faulting fresh memory in."""

from __future__ import annotations

import subprocess
import sys

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
