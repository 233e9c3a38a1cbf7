"""Hydra configuration: where ``conf/`` lives, schemas, and resolvers used by the YAML files."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from draw_lightning.configs.schema import register_configs, validate

__all__ = ["CONFIG_DIR", "config_dir", "register_configs", "setup_hydra", "validate"]


def config_dir() -> str:
    """Absolute path of ``conf/``.

    A source checkout's own ``conf/`` (beside ``src/``) comes first, so each checkout uses its
    configs; an installed wheel ships them inside the package as ``draw_lightning/conf``.
    """
    package = Path(__file__).resolve().parents[1]
    candidates = [package.parents[1] / "conf", package / "conf"]
    for path in candidates:
        if (path / "train.yaml").is_file():
            return str(path)
    raise FileNotFoundError(f"draw_lightning: no train.yaml in any of {[str(c) for c in candidates]}")


def setup_hydra() -> None:
    """Register schemas and the ``pid`` resolver (unique run folders within one second)."""
    register_configs()
    if not OmegaConf.has_resolver("pid"):
        OmegaConf.register_new_resolver("pid", lambda: str(os.getpid()))


CONFIG_DIR = config_dir()
