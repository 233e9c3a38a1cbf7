"""Hand-written gradients of the attention window, filterbank, read and write (attention.py).

Used by the unrolled DRAW (unrolled.py), whose backward runs without autograd. Each function
mirrors its forward in attention.py; tests/models/test_unrolled.py checks them with gradcheck.
"""

from __future__ import annotations

import torch
from torch import Tensor

from draw_lightning.models.attention import _LOG_LIMIT, AttentionParams

__all__ = ["filterbank_backward", "read_backward", "window_backward", "write_backward"]


def filterbank_backward(
    grad: Tensor, bank: Tensor, center: Tensor, stride: Tensor, variance: Tensor, *, n: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of ``filterbank(center, stride, variance)`` (= ``bank``) given ``grad`` = dL/dbank.

    With F = W / sum W and W = exp(log_weight - row max) (the shift cancels): dL/dlog_weight = (dF - <dF, F>) F, where
    the row sum runs over pixels; cut weights are zero in F, so they get no gradient, as in forward.
    Returns dL/d(center, stride, variance), each of shape ``(...)`` like the weights' leading dims.
    """
    size = bank.shape[-1]
    offsets = torch.arange(1, n + 1, device=bank.device, dtype=bank.dtype) - n / 2 - 0.5
    pixels = torch.arange(1, size + 1, device=bank.device, dtype=bank.dtype)
    distance = pixels - (center[..., None] + offsets * stride[..., None])[..., None]  # (..., n, size)
    d_log = (grad - (grad * bank).sum(-1, keepdim=True)) * bank
    d_log_distance = d_log * distance
    d_mu = d_log_distance.sum(-1) / variance[..., None]  # d log_weight / d mu = (a - mu) / var
    d_variance = (d_log_distance * distance).sum((-1, -2)) / (2 * variance.square())
    return d_mu.sum(-1), (d_mu * offsets).sum(-1), d_variance


def window_backward(
    raw: Tensor,
    params: AttentionParams,
    *,
    d_center_x: Tensor,
    d_center_y: Tensor,
    d_stride: Tensor,
    d_variance: Tensor,
    d_intensity: Tensor,
    width: int,
    height: int,
) -> Tensor:
    """dL/draw ``(batch, 5)`` of ``attention_params(raw)`` (eqs. 21-24) from its fields' gradients.

    The three log-parameters pass gradient only inside their clamp, like ``torch.clamp``.
    """
    inside = raw[:, 2:].abs() <= _LOG_LIMIT
    d_logs = torch.stack(
        [d_variance * params.variance, d_stride * params.stride, d_intensity * params.intensity], dim=-1
    )
    d_centers = torch.stack([d_center_x * ((width + 1) / 2), d_center_y * ((height + 1) / 2)], dim=-1)
    return torch.cat([d_centers, d_logs * inside], dim=-1)


def _raw_window_grad(
    d_fx: Tensor,
    d_fy: Tensor,
    d_intensity: Tensor,
    fx: Tensor,
    fy: Tensor,
    raw: Tensor,
    params: AttentionParams,
    *,
    n: int,
) -> Tensor:
    """dL/draw ``(batch, 5)`` through both axes' filterbanks and the window mapping."""
    dcx, dsx, dvx = filterbank_backward(d_fx, fx, params.center_x, params.stride, params.variance, n=n)
    dcy, dsy, dvy = filterbank_backward(d_fy, fy, params.center_y, params.stride, params.variance, n=n)
    return window_backward(
        raw,
        params,
        d_center_x=dcx,
        d_center_y=dcy,
        d_stride=dsx + dsy,
        d_variance=dvx + dvy,
        d_intensity=d_intensity,
        width=fx.shape[-1],
        height=fy.shape[-1],
    )


def read_backward(
    d_patches: Tensor,
    images: Tensor,
    images_fx: Tensor,
    patches: Tensor,
    fx: Tensor,
    fy: Tensor,
    raw: Tensor,
    params: AttentionParams,
    *,
    n: int,
    grad_images_from: int,
) -> tuple[Tensor, Tensor]:
    """Gradients of ``read_attentive`` (eq. 27) w.r.t. its raw window and some of its images.

    ``images`` ``(batch, K, B, A)`` were read into ``patches`` = gamma F_Y x F_X^T ``(batch, K, N, N)``
    with ``images_fx`` = x F_X^T kept from forward. Returns (dL/draw ``(batch, 5)``, dL/dimages
    for channels ``grad_images_from:``).
    """
    gamma = params.intensity[:, None, None, None]
    d_intensity = (d_patches * patches).sum((1, 2, 3)) / params.intensity
    d_glimpse = d_patches * gamma  # gradient of F_Y x F_X^T
    d_fy = (d_glimpse @ images_fx.transpose(-1, -2)).sum(1)
    d_fx = (d_glimpse.transpose(-1, -2) @ (fy[:, None] @ images)).sum(1)
    d_images = fy[:, None].transpose(-1, -2) @ d_glimpse[:, grad_images_from:] @ fx[:, None]
    return _raw_window_grad(d_fx, d_fy, d_intensity, fx, fy, raw, params, n=n), d_images


def write_backward(
    d_canvas: Tensor,
    scaled_patches: Tensor,
    scaled_patches_fx: Tensor,
    fx: Tensor,
    fy: Tensor,
    raw: Tensor,
    params: AttentionParams,
    *,
    n: int,
) -> tuple[Tensor, Tensor]:
    """Gradients of ``write_attentive`` (eq. 29) w.r.t. its patches and raw window.

    Forward wrote F_Y^T q F_X with q = w / gamma (``scaled_patches``, ``(batch, C, N, N)``) and
    q F_X (``scaled_patches_fx``). Returns (dL/dw ``(batch, C, N, N)``, dL/draw ``(batch, 5)``).
    """
    fy_d = fy[:, None] @ d_canvas  # (batch, C, N, A)
    d_scaled = fy_d @ fx[:, None].transpose(-1, -2)
    d_intensity = -(d_scaled * scaled_patches).sum((1, 2, 3)) / params.intensity
    d_fy = (scaled_patches_fx @ d_canvas.transpose(-1, -2)).sum(1)
    d_fx = (scaled_patches.transpose(-1, -2) @ fy_d).sum(1)
    d_raw = _raw_window_grad(d_fx, d_fy, d_intensity, fx, fy, raw, params, n=n)
    return d_scaled / params.intensity[:, None, None, None], d_raw
