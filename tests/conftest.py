"""Shared fixtures: the real data folder and a runner for the training CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    """``$DRAW_DATA_DIR`` if set, else the shared read-only data beside the repository."""
    return Path(os.environ.get("DRAW_DATA_DIR") or REPO_ROOT / "../shared/data").resolve()


@pytest.fixture
def data_dir() -> Path:
    path = _data_dir()
    if not (path / "quickdraw" / "cat.npy").is_file():
        pytest.skip(f"no Quick, Draw! cats under {path}")
    return path


class TrainCLI:
    """``python -m draw_lightning.train`` in a subprocess with this checkout's sources; a run
    started in folder ``cwd`` writes to ``cwd/logs/<task_name>/runs/<time>_<pid>``."""

    def __init__(self, data_dir: Path) -> None:
        self.env = dict(os.environ)
        self.env.update(
            PYTHONPATH=str(REPO_ROOT / "src"), DRAW_DATA_DIR=str(data_dir), WANDB_MODE="offline", OMP_NUM_THREADS="1"
        )
        self.env.pop("DRAW_ROOT_DIR", None)

    @staticmethod
    def command(overrides: tuple[str, ...]) -> list[str]:
        return [sys.executable, "-m", "draw_lightning.train", *overrides]

    def start(self, cwd: Path, *overrides: str) -> subprocess.Popen:
        cwd.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            self.command(overrides), cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def run(self, cwd: Path, *overrides: str, timeout: float = 180) -> subprocess.CompletedProcess:
        cwd.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            self.command(overrides), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )


@pytest.fixture
def train_cli(data_dir: Path) -> TrainCLI:
    return TrainCLI(data_dir)
