"""RuntimeSettings: the runtime settings reach every training process, spawned ranks included."""

from __future__ import annotations

import subprocess
import sys

from hydra.utils import instantiate

from draw_lightning.callbacks import RuntimeSettings

# In a fresh interpreter (flush-to-zero is process-wide): a denormal product before and after setup.
SCRIPT = """
import lightning as L, torch
from draw_lightning.callbacks import RuntimeSettings
tiny = lambda: (torch.tensor([1e-30]) * torch.tensor([1e-10])).item()
before = tiny()
callback = RuntimeSettings(flush_denormal={flush}, reuse_freed_memory=True)
callback.setup(L.Trainer(logger=False), L.LightningModule(), "fit")
print(before, tiny())
"""


def _denormal_before_and_after(flush: bool) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(flush=flush)], capture_output=True, text=True, timeout=120, check=True
    )
    before, after = map(float, out.stdout.split()[-2:])
    return before, after


def test_setup_flushes_denormals_to_zero_in_the_process_it_runs_in() -> None:
    before, after = _denormal_before_and_after(flush=True)
    assert before > 0, "1e-40 is a denormal float32 in a fresh process"
    assert after == 0.0


def test_setup_leaves_denormals_when_asked() -> None:
    assert _denormal_before_and_after(flush=False)[1] > 0


def test_default_callbacks_carry_the_extras_values(compose_train) -> None:
    cfg = compose_train(["trainer=ddp_sim", "extras.flush_denormal=false"])
    callback = instantiate(cfg.callbacks.runtime_settings)
    assert isinstance(callback, RuntimeSettings)
    assert callback.flush_denormal is False and callback.reuse_freed_memory is True
