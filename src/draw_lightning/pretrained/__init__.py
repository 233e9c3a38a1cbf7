"""Pretrained weights shipped with the package, and the weights-only file format they use.

A weights-only file (``<name>.pt`` in this folder) holds what is needed to rebuild and use a
trained model, and nothing to resume training with: the LightningModule's hyperparameters, the
training run's data config (so eval can rebuild its datamodule), the DRAW net's ``state_dict``
in float32 and a free-form ``metadata`` dict (source run, test figures). ``ckpt_path=pretrained:NAME``
in ``sample`` and ``eval`` loads ``NAME.pt`` from here; any other path may be a full Lightning
checkpoint or a weights-only file, both loaded by :func:`load_module`.

Export one from a checkpoint with ``python -m draw_lightning.pretrained export <ckpt> <name>
[--metadata key=value ...]`` (or :func:`export_pretrained`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from draw_lightning.models import DRAWConfig

__all__ = [
    "PRETRAINED_DIR",
    "PRETRAINED_PREFIX",
    "WEIGHTS_FORMAT_KEY",
    "WEIGHTS_FORMAT_VERSION",
    "export_pretrained",
    "is_weights_only",
    "list_pretrained",
    "load_module",
    "main",
    "resolve_pretrained",
]

PRETRAINED_DIR = Path(__file__).resolve().parent
PRETRAINED_PREFIX = "pretrained:"
# Marks a weights-only file (a full Lightning checkpoint has no such key); raise the version
# when the layout changes in a way older code cannot read.
WEIGHTS_FORMAT_KEY = "draw_lightning_weights_format"
WEIGHTS_FORMAT_VERSION = 1
# Options of how DRAW runs, not of what it computes: a shipped file runs eagerly wherever it is loaded.
RUNTIME_NET_OPTIONS = {f.name: f.default for f in fields(DRAWConfig) if f.name in DRAWConfig.RUNTIME_OPTIONS}


def list_pretrained() -> list[str]:
    """Names of the shipped weights files, sorted (``ckpt_path=pretrained:<name>``)."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.pt") if not p.name.startswith("."))


def resolve_pretrained(name: str) -> Path:
    """The shipped file of ``name`` (with or without the ``pretrained:`` prefix)."""
    if name.startswith(PRETRAINED_PREFIX):
        name = name[len(PRETRAINED_PREFIX) :]
    path = PRETRAINED_DIR / f"{name}.pt"
    if not name or "/" in name or os.sep in name or not path.is_file():
        available = ", ".join(list_pretrained()) or "none shipped"
        raise FileNotFoundError(f"no pretrained weights named {name!r}; available: {available}")
    return path


def _float32(tensor: torch.Tensor) -> torch.Tensor:
    """A compact float32 copy (a clone: a view would save the storage it belongs to)."""
    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
        tensor = tensor.float()
    return tensor.clone().contiguous()


def _plain_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = str(value)
        plain[str(key)] = value
    return plain


def export_pretrained(
    ckpt_path: str | os.PathLike, out_path: str | os.PathLike, *, metadata: dict[str, Any] | None = None
) -> Path:
    """Write the weights-only file of the Lightning checkpoint ``ckpt_path`` to ``out_path``.

    Atomic: a temporary file beside ``out_path`` renamed over it, so an interrupted export never
    leaves a half-written file. ``metadata`` (plain values) is stored with the source checkpoint's
    epoch and global step.
    """
    from draw_lightning.checkpointing.atomic_io import atomic_torch_save
    from draw_lightning.checkpointing.format import check_checkpoint

    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    if WEIGHTS_FORMAT_KEY in checkpoint:
        raise ValueError(f"{ckpt_path} is a weights-only file already, not a Lightning checkpoint")
    if "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(f"{ckpt_path} is not a draw_lightning checkpoint (no state_dict or hyper_parameters)")
    hparams = dict(checkpoint["hyper_parameters"])
    check_checkpoint(checkpoint, hparams)  # refuses a checkpoint of a newer format
    hparams["image_shape"] = tuple(int(s) for s in hparams["image_shape"])
    hparams["net"] = {**dict(hparams.get("net") or {}), **RUNTIME_NET_OPTIONS}
    state = {k[len("net.") :]: _float32(v) for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    if not state:
        raise ValueError(f"{ckpt_path} holds no DRAW weights (no net.* entries in its state_dict)")
    data_config = checkpoint.get("data_config")
    if data_config is not None:
        # A machine's own folder: eval puts its paths.data_dir there.
        data_config = {k: v for k, v in dict(data_config).items() if k != "data_dir"}
    source = {"source_epoch": checkpoint.get("epoch"), "source_global_step": checkpoint.get("global_step")}
    weights = {
        WEIGHTS_FORMAT_KEY: WEIGHTS_FORMAT_VERSION,
        "hyper_parameters": hparams,
        "data_config": data_config,
        "state_dict": state,
        "metadata": _plain_metadata({**source, **(metadata or {})}),
    }
    out_path = Path(out_path)
    atomic_torch_save(weights, out_path)
    out_path.chmod(0o644)  # package data, readable by all (the temporary file was private)
    return out_path


def is_weights_only(checkpoint: dict[str, Any]) -> bool:
    return WEIGHTS_FORMAT_KEY in checkpoint


def load_module(path: str | os.PathLike):
    """The :class:`~draw_lightning.lightning_modules.DRAWLitModule` of a full Lightning checkpoint or a
    weights-only file, on the CPU, with ``data_config`` set from the file (None if it has none)."""
    from draw_lightning.lightning_modules import DRAWLitModule

    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if not is_weights_only(checkpoint):
        return DRAWLitModule.load_from_checkpoint(path, map_location="cpu")
    version = checkpoint[WEIGHTS_FORMAT_KEY]
    if not isinstance(version, int) or version > WEIGHTS_FORMAT_VERSION:
        raise ValueError(
            f"{path}: weights format {version!r} is newer than this draw_lightning reads "
            f"(format <= {WEIGHTS_FORMAT_VERSION}); upgrade draw_lightning to load it"
        )
    model = DRAWLitModule(**checkpoint["hyper_parameters"])
    model.net.load_state_dict(checkpoint["state_dict"], strict=True)
    model.data_config = checkpoint.get("data_config")
    model.pretrained_metadata = checkpoint.get("metadata") or {}
    return model


def _metadata_value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_metadata(items: Sequence[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--metadata takes key=value, got {item!r}")
        metadata[key] = _metadata_value(value)
    return metadata


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m draw_lightning.pretrained", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help=f"write a checkpoint's weights to {PRETRAINED_DIR}/<name>.pt")
    export.add_argument("ckpt", help="a Lightning checkpoint of draw_lightning.train")
    export.add_argument("name", help="the short name: ckpt_path=pretrained:<name>")
    export.add_argument(
        "--metadata", action="extend", nargs="+", default=[], metavar="KEY=VALUE", help="free-form facts to store"
    )
    commands.add_parser("list", help="print the names of the shipped weights")
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n".join(list_pretrained()))
        return
    if not args.name or any(c in args.name for c in "/\\:") or args.name.startswith("."):
        parser.error(f"name must be a plain file stem, got {args.name!r}")
    metadata = {"source_checkpoint": str(args.ckpt), **_parse_metadata(args.metadata)}
    out = export_pretrained(args.ckpt, PRETRAINED_DIR / f"{args.name}.pt", metadata=metadata)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): ckpt_path=pretrained:{args.name}")
