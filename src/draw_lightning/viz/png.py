"""Saving an RGB tensor as a PNG file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from torch import Tensor

__all__ = ["write_png"]


def write_png(image: Tensor, path: str | Path) -> Path:
    """Write a uint8 ``(3, H, W)`` image to ``path`` (parent folders created)."""
    if image.dtype.is_floating_point or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"write_png: expected a uint8 (3, H, W) image, got {image.dtype} {tuple(image.shape)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.permute(1, 2, 0).cpu().numpy()).save(path)
    return path
