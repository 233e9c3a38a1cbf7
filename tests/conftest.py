"""Shared test fixtures: the real data directory, Hydra composition and the training CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from draw_lightning.configs import CONFIG_DIR, setup_hydra

REPO_DIR = Path(__file__).resolve().parents[1]
# DRAW_DATA_DIR if set, else the shared data beside the repository (read-only).
DATA_DIR = Path(os.environ.get("DRAW_DATA_DIR", REPO_DIR.parent / "shared" / "data")).resolve()


# One thread per process: on a loaded 2-core machine two OpenMP threads spin against other
# processes and a small DRAW step takes seconds instead of a fraction of one.
THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "quickdraw" / "cat.npy").is_file():
        pytest.fail(f"no real data at {DATA_DIR}: set DRAW_DATA_DIR to the shared data folder")
    return DATA_DIR


@pytest.fixture
def compose_train(tmp_path: Path, data_dir: Path) -> Callable[..., DictConfig]:
    """Compose ``train.yaml`` with overrides as a single run writing into ``tmp_path``.

    Hydra's own config is kept and registered, so ``${hydra:...}`` interpolations resolve.
    """
    setup_hydra()

    def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[f"paths.root_dir={tmp_path}", f"paths.data_dir={data_dir}", *overrides],
                return_hydra_config=True,
            )
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir = str(tmp_path / "run")
            cfg.hydra.runtime.cwd = str(tmp_path)
        HydraConfig.instance().set_config(cfg)
        return cfg

    yield compose_config
    GlobalHydra.instance().clear()


@pytest.fixture
def run_train(tmp_path: Path, data_dir: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m draw_lightning.train ARGS`` of this checkout in ``tmp_path``."""

    def run(args: Sequence[str], *, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            **THREADS_ENV,
            "PYTHONPATH": str(REPO_DIR / "src"),
            "DRAW_DATA_DIR": str(data_dir),
            "WANDB_MODE": "offline",
            "HYDRA_FULL_ERROR": "1",
        }
        env.pop("DRAW_ROOT_DIR", None)  # runs go to tmp_path/logs
        return subprocess.run(
            [sys.executable, "-m", "draw_lightning.train", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
