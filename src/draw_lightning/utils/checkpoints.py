"""Finding checkpoints: ``ckpt_path=last`` means the newest ``last.ckpt`` of a task's runs, and
``ckpt_path=pretrained:NAME`` the weights shipped as ``draw_lightning/pretrained/NAME.pt``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["resolve_ckpt_path"]


def resolve_ckpt_path(
    ckpt_path: str | None, *, runs_root: Path, exclude: Path | None = None, allow_pretrained: bool = False
) -> str | None:
    """A checkpoint path to load or resume from, or None.

    ``last`` searches ``runs_root`` (recursively) for ``checkpoints/last.ckpt`` and takes the
    most recently written one, skipping the current run's folder ``exclude``. ``pretrained:NAME``
    (only with ``allow_pretrained``: weights-only files cannot resume training) is the shipped file.
    """
    if ckpt_path is None:
        return None
    if str(ckpt_path).startswith("pretrained:"):
        if not allow_pretrained:
            raise ValueError(
                f"ckpt_path={ckpt_path}: pretrained weights hold no optimiser state or training progress, "
                "so training cannot resume from them; use them in sample or eval"
            )
        from draw_lightning.pretrained import resolve_pretrained

        return str(resolve_pretrained(str(ckpt_path)))
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
