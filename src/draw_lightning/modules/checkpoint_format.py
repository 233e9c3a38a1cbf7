"""Checkpoint format version and the check that a checkpoint fits the model loading it."""

from __future__ import annotations

import inspect
from typing import Any

from draw_lightning.models import DRAW

__all__ = ["FORMAT_KEY", "FORMAT_VERSION", "check_checkpoint", "stamp_checkpoint"]

FORMAT_KEY = "draw_lightning_format"
# Raise when the checkpoint layout changes in a way older code cannot read.
FORMAT_VERSION = 1


def _net_with_defaults(net: dict[str, Any] | None) -> dict[str, Any]:
    """``net`` keywords with DRAW's defaults filled in, so an omitted key equals its default."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(DRAW.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **(net or {})}


def stamp_checkpoint(checkpoint: dict[str, Any]) -> None:
    checkpoint[FORMAT_KEY] = FORMAT_VERSION


def _differences(saved: Any, current: Any, prefix: str) -> list[str]:
    if isinstance(saved, dict) and isinstance(current, dict):
        keys = sorted(set(saved) | set(current))
        return [d for k in keys for d in _differences(saved.get(k), current.get(k), f"{prefix}.{k}")]
    if isinstance(saved, (list, tuple)) and isinstance(current, (list, tuple)):
        saved, current = list(saved), list(current)
    return [] if saved == current else [f"{prefix}: checkpoint has {saved!r}, this model has {current!r}"]


def check_checkpoint(checkpoint: dict[str, Any], hparams: dict[str, Any]) -> None:
    """Raise ValueError if ``checkpoint`` is from a newer format or a different architecture."""
    version = checkpoint.get(FORMAT_KEY, 0)  # 0: written before versioning
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"checkpoint format {version!r} is newer than this draw_lightning reads (format <= {FORMAT_VERSION}); "
            "upgrade draw_lightning to load it"
        )
    saved = checkpoint.get("hyper_parameters") or {}
    problems = []
    if "image_shape" in saved:
        problems += _differences(saved["image_shape"], hparams.get("image_shape"), "image_shape")
    if "net" in saved:
        problems += _differences(_net_with_defaults(saved["net"]), _net_with_defaults(hparams.get("net")), "model.net")
    # A different optimiser cannot take the saved optimiser state (Adam moments vs RMSprop averages).
    saved_optimizer = (saved.get("optimizer") or {}).get("name")
    current_optimizer = (hparams.get("optimizer") or {}).get("name")
    if saved_optimizer is not None and saved_optimizer != current_optimizer:
        problems.append(
            f"model.optimizer.name: checkpoint has {saved_optimizer!r}, this model has {current_optimizer!r}"
        )
    if problems:
        raise ValueError(
            "checkpoint was written by a different model config:\n  "
            + "\n  ".join(problems)
            + "\nuse the training run's model config (or start a new run without ckpt_path)"
        )
