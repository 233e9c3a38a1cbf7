"""The DRAW network's losses, traces and errors (the full reference check is in test_draw_reference.py)."""

from __future__ import annotations

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
    with pytest.raises(ValueError, match="model.net.read_n must be >= 1, got 0"):
        DRAW(image_shape=(1, 8, 8), read_n=0)
