"""The figures of a DRAW model: generation sequences and reconstructions, rendered from the net."""

from __future__ import annotations

import torch
from torch import Tensor

from draw_lightning.models.attention import AttentionParams
from draw_lightning.models.draw import DRAW, DrawTrace
from draw_lightning.viz.grids import (
    generation_frames,
    generation_grid,
    reconstruction_grid,
    sample_grid,
    step_indices,
)

__all__ = ["generation_figures", "reconstruction_figure"]


def _first(trace: DrawTrace, rows: int) -> DrawTrace:
    """The trace of the first ``rows`` samples."""
    write = None if trace.write is None else AttentionParams(*(f[:, :rows] for f in trace.write.as_tuple()))
    read = None if trace.read is None else AttentionParams(*(f[:, :rows] for f in trace.read.as_tuple()))
    return DrawTrace(canvases=trace.canvases[:, :rows], read=read, write=write)


@torch.no_grad()
def generation_figures(
    net: DRAW,
    *,
    noise: Tensor | None = None,
    num_samples: int | None = None,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    max_steps_shown: int | None = None,
    sequence_rows: int | None = None,
    scale: int = 2,
) -> dict[str, Tensor]:
    """``samples`` (final canvases), ``sequence`` (rows = samples, columns = steps, write boxes)
    and ``frames`` (one per step, for a GIF) of samples from the prior.

    ``noise`` ``(T, n, z_dim)`` fixes z; otherwise ``num_samples`` are drawn with ``generator``.
    ``sequence_rows`` limits the samples in ``sequence`` (all by default).
    """
    if noise is None and num_samples is None:
        raise ValueError("generation_figures: give noise or num_samples")
    n = noise.shape[1] if noise is not None else num_samples
    trace = net.generate(n, generator=generator, temperature=temperature, noise=noise)
    steps = step_indices(net.num_steps, max_steps_shown)
    return {
        "samples": sample_grid(trace.canvases[-1], scale=scale),
        "sequence": generation_grid(_first(trace, sequence_rows or n), steps=steps, write_n=net.write_n, scale=scale),
        "frames": generation_frames(trace, write_n=net.write_n, scale=scale),
    }


@torch.no_grad()
def reconstruction_figure(
    net: DRAW,
    images: Tensor,
    *,
    generator: torch.Generator | None = None,
    max_steps_shown: int | None = None,
    scale: int = 2,
) -> Tensor:
    """Input with read boxes above canvases with write boxes, per step, for ``images`` ``(n, C, B, A)``."""
    trace = net(images, record=True, generator=generator).trace
    steps = step_indices(net.num_steps, max_steps_shown)
    return reconstruction_grid(images, trace, steps=steps, read_n=net.read_n, write_n=net.write_n, scale=scale)
