"""Atomic checkpoint writes: a process killed during a save leaves the previous file readable."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from draw_lightning.checkpointing.atomic_io import AtomicCheckpointIO

REPO_SRC = Path(__file__).resolve().parents[2] / "src"

# The child saves a good checkpoint, then starts a second save whose pickling blocks (after
# announcing itself through `marker`), so the parent kills it exactly mid-save.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import torch
    from draw_lightning.checkpointing.atomic_io import AtomicCheckpointIO

    path, marker, writer = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    class BlockingPickle:
        def __reduce__(self):
            marker.write_text("saving")
            time.sleep(120)
            return (int, ())

    save = AtomicCheckpointIO().save_checkpoint if writer == "atomic" else torch.save
    save({"version": 1, "weights": torch.arange(100_000.0)}, path)
    save({"version": 2, "weights": torch.zeros(100_000), "blocker": BlockingPickle()}, path)
    """
)


def kill_mid_save(tmp_path: Path, writer: str) -> Path:
    path, marker = tmp_path / "last.ckpt", tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(marker), writer],
        env={"PYTHONPATH": str(REPO_SRC), "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None and time.monotonic() < deadline, "the child never reached the second save"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    return path


def test_kill_during_atomic_save_keeps_previous_checkpoint(tmp_path: Path) -> None:
    path = kill_mid_save(tmp_path, "atomic")
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["version"] == 1 and torch.equal(checkpoint["weights"], torch.arange(100_000.0))
    # The interrupted write is left as a hidden temporary file, never under the checkpoint's name.
    assert [p.name.startswith(".last.ckpt.") and p.suffix == ".tmp" for p in tmp_path.glob(".last.ckpt.*")] == [True]


def test_kill_during_plain_torch_save_corrupts_the_checkpoint(tmp_path: Path) -> None:
    """The control: the same kill with a plain ``torch.save`` destroys the previous checkpoint."""
    path = kill_mid_save(tmp_path, "plain")
    with pytest.raises((RuntimeError, EOFError)):  # truncated zip archive or pickle
        torch.load(path, weights_only=True)


def test_trainer_config_installs_the_atomic_checkpoint_io(compose_train) -> None:
    cfg = compose_train()
    trainer = instantiate(cfg.trainer, logger=False, enable_progress_bar=False)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    class Unpicklable:
        def __reduce__(self):
            raise TypeError("cannot pickle this")

    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"version": 1}, path)
    with pytest.raises(TypeError, match="cannot pickle this"):
        AtomicCheckpointIO().save_checkpoint({"version": 2, "bad": Unpicklable()}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert torch.load(path, weights_only=True) == {"version": 1}
