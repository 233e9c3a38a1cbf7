"""Checkpoint format: its version, the check that a checkpoint fits the model loading it, and the
upgrade of configs written by older versions."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from draw_lightning.models import DRAWConfig

__all__ = ["FORMAT_KEY", "FORMAT_VERSION", "check_checkpoint", "stamp_checkpoint", "upgrade_legacy_optimization"]

FORMAT_KEY = "draw_lightning_format"
# Raise when the checkpoint layout changes in a way older code cannot read.
FORMAT_VERSION = 1


# Optimisation configs of checkpoints written before the partials: {name, lr, weight_decay} and
# {name, t_max, eta_min, step_size, gamma, factor, patience}.
_LEGACY_OPTIMIZERS = {"adam": "torch.optim.Adam", "adamw": "torch.optim.AdamW", "rmsprop": "torch.optim.RMSprop"}


def upgrade_legacy_optimization(
    optimizer: dict[str, Any], scheduler: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The partial form of a checkpoint's old ``{name: ...}`` configs; newer configs pass unchanged."""
    if optimizer and "name" in optimizer and "_target_" not in optimizer:
        old = dict(optimizer)
        optimizer = {"_target_": _LEGACY_OPTIMIZERS[old.pop("name")], "_partial_": True, **old}
    if scheduler and "name" in scheduler and "scheduler" not in scheduler:
        old, sched = scheduler, "torch.optim.lr_scheduler."
        scheduler = {
            "none": None,
            "cosine": {
                "scheduler": {"_target_": sched + "CosineAnnealingLR", "_partial_": True, "T_max": old.get("t_max")}
                | {"eta_min": old.get("eta_min", 0.0)},
                "interval": "step",
            },
            "step": {
                "scheduler": {"_target_": sched + "StepLR", "_partial_": True}
                | {"step_size": old.get("step_size", 10), "gamma": old.get("gamma", 0.5)},
                "interval": "epoch",
            },
            "exponential": {
                "scheduler": {"_target_": sched + "ExponentialLR", "_partial_": True, "gamma": old.get("gamma", 0.5)},
                "interval": "epoch",
            },
            "plateau": {
                "scheduler": {"_target_": sched + "ReduceLROnPlateau", "_partial_": True}
                | {"factor": old.get("factor", 0.5), "patience": old.get("patience", 5)},
                "interval": "epoch",
                "monitor": "val/loss",
            },
        }[old["name"]]
    return optimizer, scheduler


def _architecture(net: dict[str, Any] | None) -> dict[str, Any]:
    """``net`` with DRAWConfig's defaults filled in (an omitted key equals its default), without
    the options of how it runs (compiled, checkpointed), which a checkpoint does not fix."""
    defaults = {f.name: f.default for f in fields(DRAWConfig)}
    return {k: v for k, v in {**defaults, **(net or {})}.items() if k not in DRAWConfig.RUNTIME_OPTIONS}


def stamp_checkpoint(checkpoint: dict[str, Any]) -> None:
    checkpoint[FORMAT_KEY] = FORMAT_VERSION


def _differences(saved: Any, current: Any, prefix: str) -> list[str]:
    if isinstance(saved, dict) and isinstance(current, dict):
        keys = sorted(set(saved) | set(current))
        return [d for k in keys for d in _differences(saved.get(k), current.get(k), f"{prefix}.{k}")]
    if isinstance(saved, (list, tuple)) and isinstance(current, (list, tuple)):
        saved, current = list(saved), list(current)
    return [] if saved == current else [f"{prefix}: checkpoint has {saved!r}, this model has {current!r}"]


def _optimizer_class(hparams: dict[str, Any]) -> str | None:
    optimizer, _ = upgrade_legacy_optimization(hparams.get("optimizer") or {}, None)
    return optimizer.get("_target_")


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
        problems += _differences(_architecture(saved["net"]), _architecture(hparams.get("net")), "model.net")
    # A different optimiser cannot take the saved optimiser state (Adam moments vs RMSprop averages).
    saved_optimizer = _optimizer_class(saved)
    current_optimizer = _optimizer_class(hparams)
    if saved_optimizer is not None and saved_optimizer != current_optimizer:
        problems.append(
            f"model.optimizer._target_: checkpoint has {saved_optimizer!r}, this model has {current_optimizer!r}"
        )
    if problems:
        raise ValueError(
            "checkpoint was written by a different model config:\n  "
            + "\n  ".join(problems)
            + "\nuse the training run's model config (or start a new run without ckpt_path)"
        )
