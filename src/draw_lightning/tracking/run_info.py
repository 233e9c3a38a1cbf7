"""What tells runs apart: the resolved config, the config groups chosen, the code's git state.

Saved in the run folder (``config_resolved.yaml``) and logged as hyperparameters of every
logger (:class:`~draw_lightning.tracking.RunConfigLogger`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import Container, DictConfig, OmegaConf

__all__ = [
    "RESOLVED_CONFIG_FILE",
    "config_choices",
    "git_state",
    "resolved_config",
    "run_hyperparameters",
    "save_resolved_config",
]

RESOLVED_CONFIG_FILE = "config_resolved.yaml"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
UNKNOWN = "unknown"


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The config with every interpolation resolved, without Hydra's own node (which a composed
    config keeps, partly unresolvable outside a multirun)."""
    config = {}
    for key in cfg:
        if key != "hydra":
            value = cfg[key]
            config[key] = OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value
    return config


def config_choices() -> dict[str, str | None]:
    """The option chosen in each config group (``experiment``, ``data``, ``model``, ...; None when
    a group is unset), as Hydra recorded it; empty outside a Hydra run."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {group: choices[group] for group in choices if not group.startswith("hydra")}


def git_state(path: str | Path = PACKAGE_DIR) -> dict[str, str | bool]:
    """``{"commit": <sha>, "dirty": <tracked files changed>}`` of the git checkout whose tracked
    ``__init__.py`` is in ``path`` (this package's source); both ``"unknown"`` elsewhere (an
    installed wheel, no git), never an error."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, timeout=10, check=True)
        return done.stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "--", "__init__.py")  # the code is in the checkout, not beside it
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": UNKNOWN, "dirty": UNKNOWN}
    return {"commit": commit, "dirty": dirty}


def run_hyperparameters(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config, the config groups chosen (``choices``) and the git state (``git``)."""
    return {**resolved_config(cfg), "choices": config_choices(), "git": git_state()}


def config_tree(config: dict[str, Any]) -> str:
    """The config as a tree: one branch per top-level key, each group's YAML under its branch."""
    lines, keys = ["config"], list(config)
    for key in keys:
        last = key == keys[-1]
        branch, indent = ("└── ", "    ") if last else ("├── ", "│   ")
        value = config[key]
        if isinstance(value, dict) and value:
            lines.append(branch + str(key))
            lines += [indent + line for line in OmegaConf.to_yaml(value).splitlines()]
        else:
            lines.append(f"{branch}{key}: {value}")
    return "\n".join(lines)


def save_resolved_config(cfg: DictConfig, output_dir: str | Path) -> str:
    """Write the resolved config as YAML to ``output_dir/config_resolved.yaml`` (rank 0 only);
    return it as a tree for the log. Hydra's ``.hydra/config.yaml`` beside it keeps the interpolations."""
    config = resolved_config(cfg)
    _write(Path(output_dir) / RESOLVED_CONFIG_FILE, OmegaConf.to_yaml(config))
    return config_tree(config)


@rank_zero_only
def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
