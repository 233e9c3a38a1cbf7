"""Helpers for the datamodule tests: Hydra composition with the project's conf/, small files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from draw_lightning.configs import CONFIG_DIR, setup_hydra

setup_hydra()


def _compose_train(overrides: list[str], *, run_dir: Path) -> DictConfig:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *overrides,
                f"paths.root_dir={run_dir}",
                f"paths.output_dir={run_dir}/run",
                f"hydra.run.dir={run_dir}/run",
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


@pytest.fixture
def compose_train():
    """``compose_train(overrides, run_dir=...)``: the train config composed from the project's
    conf/, Hydra's runtime set, runs written under ``run_dir``."""
    return _compose_train


@pytest.fixture
def write_npy():
    """``write_npy(path, array)``: save ``array`` as .npy at ``path`` (parents created)."""

    def write(path: Path, array: np.ndarray) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)
        return path

    return write


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A cache directory of the test's own: nothing is written to ~/.cache."""
    return tmp_path / "cache"
