"""The filterbank attention against the paper's definitions (section 3.2, eqs. 19-29)."""

from __future__ import annotations

import math

import pytest
import torch

from draw_lightning.models.attention import (
    AttentionParams,
    attention_params,
    filterbank,
    filterbanks,
    read_attentive,
    tiled_window_bias,
    write_attentive,
)


def _window(batch: int, *, center_x, center_y, stride, variance, intensity=1.0, dtype=torch.float32):
    full = lambda v: torch.full((batch,), float(v), dtype=dtype)  # noqa: E731
    return AttentionParams(full(center_x), full(center_y), full(stride), full(variance), full(intensity))


def test_rows_sum_to_one_for_filters_inside_the_image():
    fx = filterbank(torch.tensor([14.5, 7.0]), torch.tensor([3.0, 1.5]), torch.tensor([2.0, 0.7]), n=5, size=28)
    assert fx.shape == (2, 5, 28)
    torch.testing.assert_close(fx.sum(-1), torch.ones(2, 5), atol=1e-6, rtol=0)
    assert (fx >= 0).all()


def test_filter_centres_follow_the_paper_and_the_grid_is_centred():
    # mu_i = g + (i - N/2 - 0.5) * delta for i = 1..N (eq. 19): for N=4, offsets -1.5..1.5 strides.
    g, delta, n, size = 15.0, 2.5, 4, 40
    f = filterbank(
        torch.tensor([g], dtype=torch.float64),
        torch.tensor([delta], dtype=torch.float64),
        torch.tensor([4.0], dtype=torch.float64),
        n=n,
        size=size,
    )[0]
    pixels = torch.arange(1, size + 1, dtype=torch.float64)
    # sigma = 2 px: the sampled Gaussian's mean equals its centre to ~exp(-2 pi^2 sigma^2)
    centroids = f @ pixels
    expected = torch.tensor([g + (i - n / 2 - 0.5) * delta for i in range(1, n + 1)], dtype=torch.float64)
    torch.testing.assert_close(centroids, expected, atol=1e-6, rtol=0)
    assert centroids.mean().item() == pytest.approx(g, abs=1e-6)


def test_attention_params_map_raw_outputs_as_in_eqs_22_24():
    width, height, n = 28, 20, 5
    raw = torch.tensor([[0.0, 0.0, math.log(2.0), 0.0, math.log(3.0)], [-1.0, 1.0, 0.0, math.log(0.5), 0.0]])
    p = attention_params(raw, width=width, height=height, n=n)
    torch.testing.assert_close(p.center_x, torch.tensor([(width + 1) / 2, 0.0]))
    torch.testing.assert_close(p.center_y, torch.tensor([(height + 1) / 2, float(height + 1)]))
    torch.testing.assert_close(p.stride, torch.tensor([(width - 1) / (n - 1), 0.5 * (width - 1) / (n - 1)]))
    torch.testing.assert_close(p.variance, torch.tensor([2.0, 1.0]), rtol=1e-3, atol=0)
    torch.testing.assert_close(p.intensity, torch.tensor([3.0, 1.0]), rtol=1e-3, atol=0)


def test_read_with_identity_window_returns_the_image():
    # N = A = B, delta = 1, centred, tiny sigma: every filter picks exactly one pixel.
    size, batch = 6, 3
    images = torch.rand(batch, 2, size, size)
    w = _window(batch, center_x=(size + 1) / 2, center_y=(size + 1) / 2, stride=1.0, variance=1e-3)
    fx, fy = filterbanks(w, n=size, width=size, height=size)
    torch.testing.assert_close(read_attentive(images, fx, fy, w.intensity), images, atol=1e-6, rtol=0)


def test_read_and_write_are_adjoint():
    # <read(x), w> = <x, write(w)> for gamma = 1 and the same filterbanks (non-square, 3 channels).
    torch.manual_seed(0)
    batch, channels, height, width, n = 4, 3, 11, 17, 5
    params = attention_params(torch.randn(batch, 5), width=width, height=height, n=n)
    params.intensity = torch.ones(batch)
    fx, fy = filterbanks(params, n=n, width=width, height=height)
    x = torch.randn(batch, channels, height, width, dtype=torch.float64)
    w = torch.randn(batch, channels, n, n, dtype=torch.float64)
    fx, fy, gamma = fx.double(), fy.double(), params.intensity.double()
    lhs = (read_attentive(x, fx, fy, gamma) * w).sum()
    rhs = (x * write_attentive(w, fx, fy, gamma)).sum()
    assert lhs.item() == pytest.approx(rhs.item(), rel=1e-12)


def test_read_and_write_shapes_for_non_square_images():
    batch, channels, height, width, n = 2, 3, 9, 13, 4
    params = attention_params(torch.zeros(batch, 5), width=width, height=height, n=n)
    fx, fy = filterbanks(params, n=n, width=width, height=height)
    assert fx.shape == (batch, n, width) and fy.shape == (batch, n, height)
    patch = read_attentive(torch.rand(batch, channels, height, width), fx, fy, params.intensity)
    assert patch.shape == (batch, channels, n, n)
    assert write_attentive(patch, fx, fy, params.intensity).shape == (batch, channels, height, width)


def test_intensity_scales_read_and_divides_write():
    batch, size, n = 1, 8, 3
    w = _window(batch, center_x=4.5, center_y=4.5, stride=2.0, variance=1.0, intensity=4.0)
    fx, fy = filterbanks(w, n=n, width=size, height=size)
    x, patch = torch.rand(batch, 1, size, size), torch.rand(batch, 1, n, n)
    ones = torch.ones(batch)
    torch.testing.assert_close(read_attentive(x, fx, fy, w.intensity), 4.0 * read_attentive(x, fx, fy, ones))
    torch.testing.assert_close(write_attentive(patch, fx, fy, w.intensity), write_attentive(patch, fx, fy, ones) / 4)


def test_gradcheck_read_and_write_through_attention_params():
    torch.manual_seed(1)
    batch, channels, height, width, n = 2, 2, 5, 6, 3
    raw = (0.3 * torch.randn(batch, 5, dtype=torch.float64)).requires_grad_()
    x = torch.rand(batch, channels, height, width, dtype=torch.float64, requires_grad=True)
    patch = torch.randn(batch, channels, n, n, dtype=torch.float64, requires_grad=True)

    def read_then_write(raw, x, patch):
        p = attention_params(raw, width=width, height=height, n=n)
        fx, fy = filterbanks(p, n=n, width=width, height=height)
        return read_attentive(x, fx, fy, p.intensity), write_attentive(patch, fx, fy, p.intensity)

    assert torch.autograd.gradcheck(read_then_write, (raw, x, patch), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize(("n", "width", "height"), [(1, 28, 28), (2, 28, 28), (5, 28, 28), (12, 32, 32), (3, 40, 24)])
def test_tiled_window_puts_one_filter_on_the_middle_of_each_tile(n, width, height):
    """Inverting eqs. 21-24: filter centres at (k - 1/2) D/N, sigma = D/(2N), gamma = 1, D = max(A, B)."""
    raw = tiled_window_bias(n=n, width=width, height=height).double()
    params = attention_params(raw[None], width=width, height=height, n=n)
    longest = max(width, height)
    spacing = longest / n
    offsets = torch.arange(1, n + 1, dtype=torch.float64) - n / 2 - 0.5
    centres = params.center_x + offsets * params.stride
    # pixel coordinates 1..A: tile k spans (k-1)D/N + 0.5 .. kD/N + 0.5 on the longer side
    expected = (torch.arange(1, n + 1, dtype=torch.float64) - 0.5) * spacing + 0.5 + (width - longest) / 2
    torch.testing.assert_close(centres, expected)
    torch.testing.assert_close(params.variance, torch.tensor([(spacing / 2) ** 2], dtype=torch.float64))
    torch.testing.assert_close(params.intensity, torch.ones(1, dtype=torch.float64))
    if n == 2 and width == 28:  # the figures quoted in the README and the code
        assert raw[3].item() == pytest.approx(math.log(28 / 54)) and raw[2].item() == pytest.approx(2 * math.log(7))


@pytest.mark.parametrize(("n", "size"), [(5, 28), (12, 32), (3, 60)])
def test_tiled_write_window_adds_about_one_at_each_filter_centre(n, size):
    """gamma = 1 / (2 pi sigma^2): a unit patch writes ~1 to the canvas logit where a filter is centred."""
    raw = tiled_window_bias(n=n, width=size, height=size, write=True).double()
    params = attention_params(raw[None], width=size, height=size, n=n)
    fx, fy = filterbanks(params, n=n, width=size, height=size)
    one_entry = torch.zeros(1, 1, n, n, dtype=torch.float64)
    one_entry[..., n // 2, n // 2] = 1.0
    written = write_attentive(one_entry, fx, fy, params.intensity)
    assert written.max().item() == pytest.approx(1.0, rel=0.1)
    # the read window of the same grid keeps gamma = 1: a glimpse is a local mean of the image
    assert tiled_window_bias(n=n, width=size, height=size)[4].item() == 0.0


def test_a_filter_off_the_image_still_reads_the_border_and_is_pulled_back_towards_ink():
    """An eps-guarded sum gives a zero row and zero gradient here; exact normalisation does not."""
    size = 28
    image = torch.zeros(size, dtype=torch.float64)
    image[20:24] = 1.0  # ink a few pixels inside the right border
    center = torch.tensor([size + 30.0], dtype=torch.float64, requires_grad=True)  # 30 px off the image
    one, variance = torch.ones(1, dtype=torch.float64), torch.tensor([36.0], dtype=torch.float64)
    row = filterbank(center, one, variance, n=1, size=size)
    assert row.sum().item() == pytest.approx(1.0)
    glimpse = row[0, 0] @ image
    assert glimpse.item() > 1e-3
    glimpse.backward()
    assert center.grad.item() < 0  # more ink is read by moving left, back onto the image
