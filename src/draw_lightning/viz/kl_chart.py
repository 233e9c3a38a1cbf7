"""A bar chart of KL per time step as an RGB image, for loggers without native charts."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

__all__ = ["kl_bar_chart"]

BAR_COLOR = (60, 110, 200)
MARGIN = 20
MIN_WIDTH = 260  # room for the title


def kl_bar_chart(kl_per_step: Tensor, *, height: int = 160, bar_width: int = 8) -> Tensor:
    """Bars of ``kl_per_step`` ``(T,)`` (nats) for t = 1..T on white, the maximum written on top.

    Returns uint8 ``(3, height + 2*MARGIN, max(T*bar_width, MIN_WIDTH) + 2*MARGIN)``; bar t's
    height is proportional to KL_t (the tallest bar spans ``height`` pixels).
    """
    values = kl_per_step.detach().float().cpu()
    if values.dim() != 1 or len(values) == 0:
        raise ValueError(f"kl_bar_chart: expected a non-empty (T,) tensor, got shape {tuple(values.shape)}")
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"kl_bar_chart: KL values must be finite and >= 0, got {values.tolist()}")
    top = float(values.max())
    width = max(len(values) * bar_width, MIN_WIDTH) + 2 * MARGIN
    image = Image.new("RGB", (width, height + 2 * MARGIN), "white")
    draw = ImageDraw.Draw(image)
    base = MARGIN + height  # y of the x axis
    for t, value in enumerate(values.tolist()):
        bar = round(height * value / top) if top > 0 else 0
        if bar > 0:
            x0 = MARGIN + t * bar_width
            draw.rectangle([x0, base - bar, x0 + bar_width - 2, base - 1], fill=BAR_COLOR)
    draw.line([MARGIN, base, MARGIN + len(values) * bar_width, base], fill="black")
    draw.text((MARGIN, 4), f"KL per step, t=1..{len(values)}; max {top:.3g} nats", fill="black")
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()
