"""The DRAW network against its equations (section 2), an independent reference and torch.distributions."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from draw_lightning.models import DRAW, kl_standard_normal


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, log_sigma = torch.randn(7, 100), 0.5 * torch.randn(7, 100)
    expected = kl_divergence(Normal(mu, log_sigma.exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(kl_standard_normal(mu, log_sigma), expected, rtol=1e-5, atol=1e-5)


def test_kl_of_the_prior_itself_is_zero_for_any_latent_size():
    # The constant is -z_dim/2 per step; subtracting T/2 (a known bug) would not give 0 here.
    for z_dim in (1, 10, 100):
        assert kl_standard_normal(torch.zeros(3, z_dim), torch.zeros(3, z_dim)).abs().max() < 1e-6


# -- an independent, loop-by-loop reference of the paper's equations ---------------------------


def _gauss_filters(center: float, stride: float, var: float, n: int, size: int) -> torch.Tensor:
    rows = []
    for i in range(1, n + 1):
        mu = center + (i - n / 2 - 0.5) * stride
        row = torch.tensor([math.exp(-((a - mu) ** 2) / (2 * var)) for a in range(1, size + 1)], dtype=torch.float64)
        rows.append(row / (row.sum() + 1e-8))
    return torch.stack(rows)


def _window(raw: torch.Tensor, width: int, height: int, n: int):
    gx_t, gy_t, log_var, log_delta, log_gamma = (float(v) for v in raw)
    gx = (width + 1) / 2 * (gx_t + 1)
    gy = (height + 1) / 2 * (gy_t + 1)
    delta = (max(width, height) - 1) / (n - 1) * math.exp(log_delta)
    fx = _gauss_filters(gx, delta, math.exp(log_var), n, width)
    fy = _gauss_filters(gy, delta, math.exp(log_var), n, height)
    return fx, fy, math.exp(log_gamma)


def _lstm(cell: torch.nn.LSTMCell, inp, h, c):
    gates = cell.weight_ih.double() @ inp + cell.bias_ih.double() + cell.weight_hh.double() @ h + cell.bias_hh.double()
    i, f, g, o = gates.chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _reference_loss(model: DRAW, x: torch.Tensor, noise: torch.Tensor) -> tuple[float, float]:
    """One image, float64, written straight from eqs. 3-12 and 19-29: (L^x, L^z)."""
    p = {k: v.detach().double() for k, v in model.named_parameters()}
    ch, height, width = model.image_shape
    rn, wn = model.read_n, model.write_n
    x = x.double()
    canvas = p["canvas0"].clone()
    h_enc, c_enc = p["enc_state0"][0], p["enc_state0"][1]
    h_dec, c_dec = p["dec_state0"][0], p["dec_state0"][1]
    kl = 0.0
    for t in range(model.num_steps):
        x_hat = x - torch.sigmoid(canvas)  # eq. 3
        fx, fy, gamma = _window(p["read_window.weight"] @ h_dec + p["read_window.bias"], width, height, rn)
        r = torch.cat(
            [gamma * (fy @ x[k] @ fx.T).flatten() for k in range(ch)]
            + [gamma * (fy @ x_hat[k] @ fx.T).flatten() for k in range(ch)]
        )  # eq. 27
        h_enc, c_enc = _lstm(model.encoder, torch.cat([r, h_dec]), h_enc, c_enc)  # eq. 5
        out = p["to_latent.weight"] @ h_enc + p["to_latent.bias"]
        mu, log_sigma = out[: model.z_dim], out[model.z_dim :]
        z = mu + torch.exp(log_sigma) * noise[t].double()
        kl += float((0.5 * (mu**2 + torch.exp(2 * log_sigma) - 2 * log_sigma) - 0.5).sum())  # eq. 11
        h_dec, c_dec = _lstm(model.decoder, z, h_dec, c_dec)  # eq. 7
        fx, fy, gamma = _window(p["write_window.weight"] @ h_dec + p["write_window.bias"], width, height, wn)
        w = (p["write_patch.weight"] @ h_dec + p["write_patch.bias"]).view(ch, wn, wn)
        canvas = canvas + torch.stack([fy.T @ w[k] @ fx / gamma for k in range(ch)])  # eqs. 8, 29
    rec = -Bernoulli(logits=canvas, validate_args=False).log_prob(x).sum()  # eq. 9
    return float(rec), kl


def test_forward_matches_an_independent_reference_of_the_equations():
    torch.manual_seed(3)
    model = DRAW(image_shape=(2, 5, 7), num_steps=3, enc_hidden=6, dec_hidden=5, z_dim=3, read_n=2, write_n=3)
    with torch.no_grad():  # learned initial states away from zero, so their use is tested too
        for name in ("canvas0", "enc_state0", "dec_state0"):
            getattr(model, name).normal_(0, 0.3)
    x = torch.rand(2, 2, 5, 7)
    out = model(x, generator=torch.Generator().manual_seed(11))
    noise = torch.randn(3, 2, 3, generator=torch.Generator().manual_seed(11))
    for b in range(2):
        rec, kl = _reference_loss(model, x[b], noise[:, b])
        assert out.rec_loss[b].item() == pytest.approx(rec, rel=1e-4)
        assert out.kl[b].item() == pytest.approx(kl, rel=1e-4, abs=1e-5)


def test_rec_loss_is_the_bernoulli_negative_log_likelihood_in_nats():
    model = DRAW(image_shape=(1, 6, 6), num_steps=2, enc_hidden=8, dec_hidden=8, z_dim=2)
    x = torch.rand(3, 1, 6, 6)
    out = model(x)
    expected = -Bernoulli(logits=out.logits, validate_args=False).log_prob(x).flatten(1).sum(-1)
    torch.testing.assert_close(out.rec_loss, expected)
    torch.testing.assert_close(out.loss, out.rec_loss + out.kl_per_step.sum(-1))
    assert out.kl_per_step.shape == (3, 2)


@pytest.mark.parametrize("attention", [True, False])
def test_non_square_rgb_model_trains_a_step_with_finite_gradients(attention):
    torch.manual_seed(0)
    model = DRAW(
        image_shape=(3, 12, 20),
        num_steps=4,
        enc_hidden=16,
        dec_hidden=16,
        z_dim=5,
        read_attention=attention,
        write_attention=attention,
        read_n=3,
        write_n=4,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(5, 3, 12, 20)
    before = model(x, generator=torch.Generator().manual_seed(0)).loss.mean()
    before.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    for name in ("canvas0", "enc_state0", "dec_state0"):  # learned initial states do learn
        assert getattr(model, name).grad.abs().sum() > 0, name
    optimizer.step()
    after = model(x, generator=torch.Generator().manual_seed(0)).loss.mean()
    assert torch.isfinite(after) and after < before


def test_record_gives_per_step_canvases_and_windows():
    model = DRAW(image_shape=(1, 10, 14), num_steps=5, enc_hidden=8, dec_hidden=8, z_dim=3, read_n=2, write_n=3)
    out = model(torch.rand(4, 1, 10, 14), record=True)
    trace = out.trace
    assert trace.canvases.shape == (5, 4, 1, 10, 14)
    torch.testing.assert_close(trace.canvases[-1], torch.sigmoid(out.logits))
    for window in (trace.read, trace.write):
        for field in window.as_tuple():
            assert field.shape == (5, 4)
    assert (trace.write.stride > 0).all() and (trace.read.variance > 0).all()


def test_generation_is_reproducible_with_a_fixed_generator():
    model = DRAW(image_shape=(1, 8, 8), num_steps=4, enc_hidden=8, dec_hidden=8, z_dim=3)
    a = model.generate(3, generator=torch.Generator().manual_seed(5))
    b = model.generate(3, generator=torch.Generator().manual_seed(5))
    c = model.generate(3, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a.canvases, b.canvases) and torch.equal(a.write.center_x, b.write.center_x)
    assert not torch.equal(a.canvases, c.canvases)
    assert a.canvases.shape == (4, 3, 1, 8, 8)
    assert ((a.canvases > 0) & (a.canvases < 1)).all()


def test_generation_at_zero_temperature_is_deterministic_and_noise_can_be_fixed():
    model = DRAW(image_shape=(1, 8, 8), num_steps=3, enc_hidden=8, dec_hidden=8, z_dim=3, read_attention=False)
    cold = [model.generate(2, generator=torch.Generator().manual_seed(s), temperature=0.0) for s in (1, 2)]
    assert torch.equal(cold[0].canvases, cold[1].canvases) and cold[0].read is None
    noise = torch.randn(3, 2, 3)
    torch.testing.assert_close(model.generate(2, noise=noise).canvases, model.generate(2, noise=noise).canvases)
    with pytest.raises(ValueError, match=r"noise must have shape \(3, 2, 3\)"):
        model.generate(2, noise=torch.randn(3, 2, 4))


def test_bad_input_is_rejected_with_a_clear_message():
    model = DRAW(image_shape=(1, 8, 8), num_steps=2, enc_hidden=8, dec_hidden=8, z_dim=2)
    with pytest.raises(ValueError, match=r"shape \(batch, C, B, A\) = \(batch, 1, 8, 8\), got \(2, 3, 8, 8\)"):
        model(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"pixel values in \[0, 1\].*max 255"):
        model(torch.full((2, 1, 8, 8), 255.0))
    with pytest.raises(ValueError, match="read_n must be an integer >= 1, got 0"):
        DRAW(image_shape=(1, 8, 8), read_n=0)
