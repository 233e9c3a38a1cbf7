"""Finding checkpoints: ``ckpt_path=last`` means the newest ``last.ckpt`` of a task's runs."""

from __future__ import annotations

from pathlib import Path

__all__ = ["resolve_ckpt_path"]


def resolve_ckpt_path(ckpt_path: str | None, *, runs_root: Path, exclude: Path | None = None) -> str | None:
    """A checkpoint path to resume from, or None.

    ``last`` searches ``runs_root`` (recursively) for ``checkpoints/last.ckpt`` and takes the
    most recently written one, skipping the current run's folder ``exclude``.
    """
    if ckpt_path is None:
        return None
    if str(ckpt_path) != "last":
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
        return str(path)
    found = [
        p
        for p in runs_root.glob("**/checkpoints/last.ckpt")
        if exclude is None or exclude.resolve() not in p.resolve().parents
    ]
    if not found:
        raise FileNotFoundError(f"ckpt_path=last: no checkpoints/last.ckpt under {runs_root}")
    return str(max(found, key=lambda p: p.stat().st_mtime))
