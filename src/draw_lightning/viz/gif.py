"""Animated GIFs of a generation, one frame per time step, written with PIL."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from torch import Tensor

__all__ = ["write_gif"]


def write_gif(frames: Tensor, path: str | Path, *, frame_ms: int = 100, last_frame_ms: int = 1000) -> Path:
    """Write uint8 frames ``(T, 3, H, W)`` as a looping GIF; the last frame is held longer.

    PIL merges identical consecutive frames, so callers that need exactly T frames keep them
    distinct (see :func:`draw_lightning.viz.generation_frames`).
    """
    if frames.dtype.is_floating_point or frames.dim() != 4 or frames.shape[1] != 3:
        raise ValueError(f"write_gif: expected uint8 frames (T, 3, H, W), got {frames.dtype} {tuple(frames.shape)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(f.permute(1, 2, 0).cpu().numpy()) for f in frames]
    durations = [frame_ms] * (len(images) - 1) + [last_frame_ms]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return path
