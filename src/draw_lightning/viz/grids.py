"""Grids of DRAW's canvases sigma(c_t): generation, reconstruction and animation frames.

Canvases come from a :class:`~draw_lightning.models.DrawTrace` (``(T, n, C, B, A)`` in [0, 1]);
every function returns uint8 RGB, upscaled ``scale`` times so boxes stay visible on 28x28 images.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.utils import make_grid

from draw_lightning.models.attention import AttentionParams
from draw_lightning.models.draw import DrawTrace
from draw_lightning.viz.boxes import attention_boxes, draw_boxes

__all__ = [
    "generation_frames",
    "generation_grid",
    "reconstruction_grid",
    "sample_grid",
    "step_indices",
    "to_rgb_uint8",
]

READ_COLOR = (0, 200, 0)
WRITE_COLOR = (255, 40, 40)
PADDING = 2
PAD_VALUE = 128  # grey, so cells stay apart on black-background drawings


def to_rgb_uint8(images: Tensor, *, scale: int = 1) -> Tensor:
    """``(..., C, H, W)`` floats in [0, 1] with C = 1 or 3 -> ``(..., 3, H*scale, W*scale)`` uint8."""
    if images.shape[-3] not in (1, 3):
        raise ValueError(f"to_rgb_uint8: expected 1 or 3 channels, got shape {tuple(images.shape)}")
    rgb = images.expand(*images.shape[:-3], 3, *images.shape[-2:]) if images.shape[-3] == 1 else images
    rgb = (rgb.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    return rgb.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def step_indices(num_steps: int, max_shown: int | None) -> list[int]:
    """0-based time steps to show: all of them, or ``max_shown`` spread evenly, always with the last."""
    if max_shown is None or max_shown >= num_steps:
        return list(range(num_steps))
    if max_shown < 1:
        raise ValueError(f"max_shown must be >= 1 or None, got {max_shown}")
    if max_shown == 1:
        return [num_steps - 1]
    return sorted({round(i * (num_steps - 1) / (max_shown - 1)) for i in range(max_shown)})


def _select(params: AttentionParams, steps: list[int]) -> AttentionParams:
    return AttentionParams(*(field[steps] for field in params.as_tuple()))


def _with_boxes(
    cells: Tensor, params: AttentionParams | None, *, n: int, scale: int, color: tuple[int, int, int]
) -> Tensor:
    """Draw window ``params`` (fields ``(S, m)``) on cells ``(S, m, 3, H, W)``."""
    if params is None:
        return cells
    steps, m = cells.shape[:2]
    height, width = cells.shape[-2] // scale, cells.shape[-1] // scale
    boxes = attention_boxes(params, n=n, height=height, width=width, scale=scale)
    return draw_boxes(cells.flatten(0, 1), boxes.flatten(0, 1), color=color).view_as(cells)


def _grid(cells: Tensor, nrow: int) -> Tensor:
    return make_grid(cells, nrow=nrow, padding=PADDING, pad_value=PAD_VALUE)


def generation_grid(
    trace: DrawTrace,
    *,
    steps: list[int],
    write_n: int,
    scale: int = 2,
    boxes: bool = True,
    write_color: tuple[int, int, int] = WRITE_COLOR,
) -> Tensor:
    """Rows = samples, columns = time ``steps``; the write window of each step boxed on its canvas."""
    cells = to_rgb_uint8(trace.canvases[steps], scale=scale)  # (S, n, 3, H, W)
    write = _select(trace.write, steps) if boxes and trace.write is not None else None
    cells = _with_boxes(cells, write, n=write_n, scale=scale, color=write_color)
    return _grid(cells.transpose(0, 1).flatten(0, 1), nrow=len(steps))


def reconstruction_grid(
    images: Tensor,
    trace: DrawTrace,
    *,
    steps: list[int],
    read_n: int,
    write_n: int,
    scale: int = 2,
    read_color: tuple[int, int, int] = READ_COLOR,
    write_color: tuple[int, int, int] = WRITE_COLOR,
) -> Tensor:
    """Two rows per image, columns = time ``steps``: the input with step t's read box above the
    canvas sigma(c_t) with its write box. ``images``: ``(n, C, B, A)`` in [0, 1]."""
    canvases = to_rgb_uint8(trace.canvases[steps], scale=scale)  # (S, n, 3, H, W)
    inputs = to_rgb_uint8(images, scale=scale).expand_as(canvases)
    read = _select(trace.read, steps) if trace.read is not None else None
    write = _select(trace.write, steps) if trace.write is not None else None
    inputs = _with_boxes(inputs.contiguous(), read, n=read_n, scale=scale, color=read_color)
    canvases = _with_boxes(canvases, write, n=write_n, scale=scale, color=write_color)
    rows = torch.stack([inputs, canvases], dim=2)  # (S, n, 2, 3, H, W)
    return _grid(rows.permute(1, 2, 0, 3, 4, 5).flatten(0, 2), nrow=len(steps))


def sample_grid(images: Tensor, *, scale: int = 1, nrow: int | None = None) -> Tensor:
    """Final samples ``(n, C, B, A)`` as a near-square grid (``nrow`` images per row)."""
    nrow = nrow or math.ceil(math.sqrt(images.shape[0]))
    return _grid(to_rgb_uint8(images, scale=scale), nrow=nrow)


def generation_frames(
    trace: DrawTrace,
    *,
    write_n: int,
    scale: int = 2,
    nrow: int | None = None,
    boxes: bool = True,
    write_color: tuple[int, int, int] = WRITE_COLOR,
) -> Tensor:
    """One frame per time step ``(T, 3, H, W)``: all samples' canvases with the write box, over a
    progress bar t/T (which also keeps frames distinct, so a GIF keeps all T of them)."""
    num_steps, n = trace.canvases.shape[:2]
    nrow = nrow or math.ceil(math.sqrt(n))
    cells = to_rgb_uint8(trace.canvases, scale=scale)
    write = trace.write if boxes else None
    cells = _with_boxes(cells, write, n=write_n, scale=scale, color=write_color)
    grids = torch.stack([_grid(step_cells, nrow=nrow) for step_cells in cells])  # (T, 3, H, W)
    width = grids.shape[-1]
    bar = torch.zeros(num_steps, 3, max(PADDING, scale), width, dtype=torch.uint8)
    for t in range(num_steps):
        bar[t, :, :, : math.ceil(width * (t + 1) / num_steps)] = 255
    return torch.cat([grids, bar], dim=-2)
