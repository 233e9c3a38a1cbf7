"""Attention windows as boxes: coordinates from :class:`AttentionParams`, drawn on RGB images."""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.utils import draw_bounding_boxes

from draw_lightning.models.attention import AttentionParams

__all__ = ["attention_boxes", "draw_boxes"]


def attention_boxes(params: AttentionParams, *, n: int, height: int, width: int, scale: int = 1) -> Tensor:
    """Boxes ``(..., 4)`` = (x0, y0, x1, y1), int64 pixel indices of an image upscaled ``scale`` times.

    The box is centre ± N·δ/2 (the span of N filters spaced δ apart). Centres are 1-based pixel
    coordinates (1..A), so pixel index = coordinate - 1; edges are rounded and clipped to the image.
    """
    half = n * params.stride / 2

    def to_index(coord: Tensor, size: int) -> Tensor:
        # 0-based continuous coordinate u -> centre of pixel u in the upscaled image.
        upscaled = (coord - 1) * scale + (scale - 1) / 2
        return upscaled.round().clamp(0, size * scale - 1).long()

    x0 = to_index(params.center_x - half, width)
    x1 = to_index(params.center_x + half, width)
    y0 = to_index(params.center_y - half, height)
    y1 = to_index(params.center_y + half, height)
    return torch.stack([x0, y0, x1, y1], dim=-1)


def draw_boxes(images: Tensor, boxes: Tensor, *, color: tuple[int, int, int], width: int = 1) -> Tensor:
    """Draw box ``boxes[i]`` ``(N, 4)`` on image ``images[i]`` ``(N, 3, H, W)`` uint8; returns a copy."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"draw_boxes: expected uint8 images (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
    if boxes.shape != (images.shape[0], 4):
        raise ValueError(f"draw_boxes: expected boxes of shape ({images.shape[0]}, 4), got {tuple(boxes.shape)}")
    pairs = zip(images, boxes.cpu(), strict=True)
    return torch.stack([draw_bounding_boxes(img, box[None], colors=color, width=width) for img, box in pairs])
