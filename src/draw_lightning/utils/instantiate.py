"""Build callbacks and loggers from their config groups (one entry per key)."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

__all__ = ["instantiate_collection"]


def instantiate_collection(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` entry of a group such as ``callbacks`` or ``logger``."""
    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"expected a mapping of name -> config, got {type(cfg).__name__}")
    return [instantiate(node) for node in cfg.values() if isinstance(node, DictConfig) and "_target_" in node]
