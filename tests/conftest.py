"""Shared fixtures: the real data directory and a tiny DRAW configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("DRAW_DATA_DIR", REPO_ROOT.parent / "shared" / "data")).resolve()
# Every test process (and subprocess it starts) reads data from the same place; W&B never
# reaches for the network from a test.
os.environ["DRAW_DATA_DIR"] = str(DATA_DIR)
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

# Overrides that shrink any model config to a few-second run.
TINY_MODEL = [
    "model.net.num_steps=3",
    "model.net.enc_hidden=16",
    "model.net.dec_hidden=16",
    "model.net.z_dim=4",
]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "quickdraw" / "cat.npy").is_file():
        pytest.fail(f"real datasets not found in {DATA_DIR}: set DRAW_DATA_DIR to shared/data")
    return DATA_DIR
