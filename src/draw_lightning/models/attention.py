"""Gaussian-filterbank attention of DRAW (Gregor et al. 2015, section 3.2).

Conventions: images are ``(batch, C, B, A)`` with width ``A`` and height ``B``; pixel
coordinates run 1..A (x) and 1..B (y), so ``g = (A + 1) / 2`` is the image centre.
A filterbank ``F_X`` is ``(batch, N, A)`` and ``F_Y`` is ``(batch, N, B)``; each row is one
Gaussian filter normalised over the pixels. The same filters are used on every channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "AttentionParams",
    "tiled_window_bias",
    "attention_params",
    "filterbank",
    "filterbanks",
    "read_attentive",
    "write_attentive",
]

# Bounds on the log-parameters so exp() cannot overflow in float32 or bf16 and 1/gamma stays
# finite. A hard clamp: inside the bounds the mapping is exactly the paper's.
LOG_VARIANCE_LIMIT = 10.0
LOG_STRIDE_LIMIT = 10.0
LOG_INTENSITY_LIMIT = 10.0
# exp(-60) ~ 9e-27: filter weights below it (relative to the row's largest) are set to exactly
# zero, which keeps denormal floats (products below 1.2e-38) out of read/write and their gradients.
_MIN_LOG_WEIGHT = -60.0
assert LOG_VARIANCE_LIMIT == LOG_STRIDE_LIMIT == LOG_INTENSITY_LIMIT, "attention_params bounds them together"
_LOG_LIMIT = LOG_VARIANCE_LIMIT


@dataclass
class AttentionParams:
    """One attention window per batch element, every field of shape ``(batch,)``.

    ``center_x``/``center_y`` are in pixel coordinates (1..A, 1..B), ``stride`` is the distance
    between filter centres in pixels, ``variance`` is sigma^2, ``intensity`` is gamma.
    """

    center_x: Tensor
    center_y: Tensor
    stride: Tensor
    variance: Tensor
    intensity: Tensor

    def detach(self) -> AttentionParams:
        return AttentionParams(*(t.detach() for t in self.as_tuple()))

    def as_tuple(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        return (self.center_x, self.center_y, self.stride, self.variance, self.intensity)


def attention_params(raw: Tensor, *, width: int, height: int, n: int) -> AttentionParams:
    """Map the 5 raw outputs ``W(h^dec)`` to an attention window (eqs. 21-24).

    ``raw``: ``(..., 5)`` holding (g~_X, g~_Y, log sigma^2, log delta~, log gamma).
    """
    gx_t, gy_t = raw[..., 0], raw[..., 1]
    # The three log-parameters share one bound, so one clamp and one exp serve all of them.
    variance, stride_scale, intensity = torch.exp(raw[..., 2:].clamp(-_LOG_LIMIT, _LOG_LIMIT)).unbind(-1)
    center_x = (width + 1) / 2 * (gx_t + 1)
    center_y = (height + 1) / 2 * (gy_t + 1)
    # With N = 1 the stride multiplies zero offsets; max(.,1) only avoids dividing by zero.
    stride = (max(width, height) - 1) / max(n - 1, 1) * stride_scale
    return AttentionParams(center_x, center_y, stride, variance, intensity)


def filterbank(center: Tensor, stride: Tensor, variance: Tensor, *, n: int, size: int) -> Tensor:
    """One axis of the filterbank (eqs. 19, 25-26): ``(..., n, size)`` for fields ``(...)``, rows sum to 1.

    Filter ``i = 1..n`` is centred at ``center + (i - n/2 - 0.5) * stride``, so the grid is
    centred on ``center``; pixel coordinates run 1..size. Each row is normalised exactly, as the
    paper's Z_X, Z_Y: the log-weights are shifted by their row maximum first, so a filter centred
    off the image reads and writes the nearest pixels (softly, by its sigma) and keeps a gradient
    that can pull it back, instead of the zero row of an ``eps``-guarded sum.
    """
    offsets = torch.arange(1, n + 1, device=center.device, dtype=center.dtype) - n / 2 - 0.5
    mu = center[..., None] + offsets * stride[..., None]  # (..., n)
    pixels = torch.arange(1, size + 1, device=center.device, dtype=center.dtype)
    log_weight = (pixels - mu[..., None]).square() / (-2 * variance[..., None, None])
    # The shift cancels in the normalisation (no gradient through it); afterwards the largest
    # weight of each row is exp(0) = 1, so the sum never underflows.
    log_weight = log_weight - log_weight.amax(-1, keepdim=True).detach()
    # exp() of inputs far below -87 (results that underflow) takes a slow path on x86, ~10x
    # (benchmarks/README.md): clamp first; the cut weights are zeroed by where() either way.
    weight = torch.where(log_weight > _MIN_LOG_WEIGHT, torch.exp(log_weight.clamp_min(_MIN_LOG_WEIGHT)), 0.0)
    return weight / weight.sum(-1, keepdim=True)


def tiled_window_bias(*, n: int, width: int, height: int, write: bool = False) -> Tensor:
    """Raw window ``(g~_X, g~_Y, log sigma^2, log delta~, log gamma)`` whose N x N grid tiles the image.

    Inverts eqs. 21-24 for: centre g = image centre (g~ = 0); stride delta = D / N with
    D = max(A, B), so the N filter centres sit at the middles of N equal tiles of the longer side;
    sigma = delta / 2, so neighbouring filters meet at one sigma. Hence
    log delta~ = ln(D (N - 1) / (N (D - 1))) (0 for N = 1, whose stride multiplies nothing) and
    log sigma^2 = 2 ln(D / (2N)). A read keeps gamma = 1 (each glimpse is a local mean of x). A
    write (eq. 29) spreads a patch entry over ~2 pi sigma^2 pixels, so with gamma = 1 it adds only
    1 / (2 pi sigma^2) to the canvas (1/49 for 5x5 on 28x28); gamma = 1 / (2 pi sigma^2) makes a
    unit entry add ~1 at its filter's centre, as a full-image write does.
    Used as the window's initial bias (``window_init="tile"``): the paper's zero bias puts a 2x2
    read grid on the border pixels with sigma 1, where MNIST and Quick, Draw! are blank, and
    training then pushes it off the image (README, deviations).
    """
    longest = max(width, height)
    log_stride_scale = math.log(longest * (n - 1) / (n * (longest - 1))) if n > 1 and longest > 1 else 0.0
    log_variance = 2 * math.log(longest / (2 * n))
    log_intensity = -math.log(2 * math.pi) - log_variance if write else 0.0
    return torch.tensor([0.0, 0.0, log_variance, log_stride_scale, log_intensity], dtype=torch.float64)


def filterbanks(params: AttentionParams, *, n: int, width: int, height: int) -> tuple[Tensor, Tensor]:
    """``(F_X, F_Y)`` of shapes ``(batch, n, A)`` and ``(batch, n, B)`` for a window."""
    if width == height:  # both axes in one pass: half the kernel launches
        centers = torch.stack([params.center_x, params.center_y], dim=-1)
        both = filterbank(centers, params.stride[..., None], params.variance[..., None], n=n, size=width)
        return both[..., 0, :, :], both[..., 1, :, :]
    fx = filterbank(params.center_x, params.stride, params.variance, n=n, size=width)
    fy = filterbank(params.center_y, params.stride, params.variance, n=n, size=height)
    return fx, fy


def read_attentive(images: Tensor, fx: Tensor, fy: Tensor, intensity: Tensor) -> Tensor:
    """Attentive read (eq. 27): ``gamma * F_Y x F_X^T`` per channel.

    ``images``: ``(batch, C, B, A)``; returns ``(batch, C, N, N)``.
    """
    patches = fy[:, None] @ images @ fx[:, None].transpose(-1, -2)
    return patches * intensity[:, None, None, None]


def write_attentive(patches: Tensor, fx: Tensor, fy: Tensor, intensity: Tensor) -> Tensor:
    """Attentive write (eq. 29): ``(1 / gamma) * F_Y^T w F_X`` per channel.

    ``patches``: ``(batch, C, N, N)``; returns ``(batch, C, B, A)``.
    """
    # Dividing the N x N patch rather than the B x A result: same value, fewer operations.
    patches = patches / intensity[:, None, None, None]
    return fy[:, None].transpose(-1, -2) @ patches @ fx[:, None]
