"""Property tests of the attention filterbanks and read/write at extreme parameters.

Row sums: a row is ``S / (S + eps)`` with ``S`` the sum of its Gaussian weights over the pixels.
If some pixel lies within a few sigma of the filter centre, ``S`` is at least ~1e-3 and the row
sums to 1 (to ``eps / S``). If the filter lies wholly outside the image, or is so narrow that it
falls between pixel centres, every weight underflows (log-weights below -60 are set to exactly
zero) and the row is exactly zero: that filter reads nothing and writes nothing.
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from draw_lightning.models.attention import (
    attention_params,
    filterbanks,
    read_attentive,
    write_attentive,
)

EXTREMES = [-1e4, -100.0, -10.0, -1.0, 0.0, 1.0, 10.0, 100.0, 1e4]
raw_value = st.one_of(st.sampled_from(EXTREMES), st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False))


@st.composite
def cases(draw):
    width = draw(st.integers(1, 12))
    height = draw(st.integers(1, 12).filter(lambda h: h != width))
    channels = draw(st.sampled_from([1, 3]))
    n = draw(st.integers(1, max(width, height)))
    raw = [[draw(raw_value) for _ in range(5)] for _ in range(draw(st.integers(1, 3)))]
    return width, height, channels, n, raw


def row_sum_expectation(params, *, n: int, size: int, axis: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows that must sum to 1, rows that must be exactly 0), from float64 weights."""
    center = getattr(params, f"center_{axis}").double()
    stride, variance = params.stride.double(), params.variance.double()
    offsets = torch.arange(1, n + 1, dtype=torch.float64) - n / 2 - 0.5
    mu = center[:, None] + offsets * stride[:, None]
    pixels = torch.arange(1, size + 1, dtype=torch.float64)
    log_weight = -((pixels - mu[..., None]) ** 2) / (2 * variance[:, None, None])
    best = log_weight.max(-1).values
    return best > math.log(1e-3), best < -61


def check_case(width, height, channels, n, raw, dtype, tolerance) -> None:
    raw = torch.tensor(raw, dtype=dtype, requires_grad=True)
    images = torch.rand(raw.shape[0], channels, height, width, dtype=dtype, requires_grad=True)
    patches = torch.rand(raw.shape[0], channels, n, n, dtype=dtype, requires_grad=True)
    params = attention_params(raw, width=width, height=height, n=n)
    fx, fy = filterbanks(params, n=n, width=width, height=height)
    read = read_attentive(images, fx, fy, params.intensity)
    written = write_attentive(patches, fx, fy, params.intensity)
    assert read.shape == (raw.shape[0], channels, n, n) and written.shape == images.shape
    for tensor in (params.stride, params.variance, params.intensity, fx, fy, read, written):
        assert torch.isfinite(tensor).all()
    (read.sum() + written.sum()).backward()
    for tensor in (raw, images, patches):
        assert torch.isfinite(tensor.grad).all()

    for bank, size, axis in ((fx, width, "x"), (fy, height, "y")):
        sums = bank.double().sum(-1)
        ones, zeros = row_sum_expectation(params, n=n, size=size, axis=axis)
        assert torch.allclose(sums[ones], torch.ones_like(sums[ones]), atol=tolerance)
        assert (sums[zeros] == 0).all()
        assert (sums <= 1 + tolerance).all() and (sums >= 0).all()


@settings(max_examples=100, deadline=None)
@given(cases())
def test_float32_outputs_and_gradients_finite_and_rows_normalised(case) -> None:
    check_case(*case, dtype=torch.float32, tolerance=1e-5)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_bfloat16_outputs_and_gradients_finite_and_rows_normalised(case) -> None:
    # bf16 keeps 8 mantissa bits: sums of up to 12 weights are good to a few parts in 100.
    check_case(*case, dtype=torch.bfloat16, tolerance=3e-2)


def test_write_with_smallest_intensity_stays_bounded() -> None:
    """1/gamma at the bound: gamma >= exp(-10), so a unit patch writes at most e^10 per pixel."""
    raw = torch.tensor([[0.0, 0.0, -1e4, 1e4, -1e4]])
    params = attention_params(raw, width=7, height=5, n=3)
    fx, fy = filterbanks(params, n=3, width=7, height=5)
    written = write_attentive(torch.ones(1, 1, 3, 3), fx, fy, params.intensity)
    assert math.isclose(float(params.intensity), math.exp(-10), rel_tol=1e-5)
    assert torch.isfinite(written).all() and 0 < float(written.max()) <= math.exp(10) * 1.0001
