"""Property tests of the attention filterbanks and read/write at extreme parameters.

Row sums: each row is normalised exactly (the log-weights are shifted by the row's maximum
before exp), so every row sums to 1 for any window: a filter centred wholly outside the image,
or so narrow that it falls between pixel centres, reads and writes the nearest pixels.
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
        assert bank.shape[-1] == size and (bank >= 0).all()
        assert torch.allclose(sums, torch.ones_like(sums), atol=tolerance), f"axis {axis}: row sums {sums}"


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
