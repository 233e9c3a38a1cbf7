"""The unrolled DRAW's hand-written backward against finite differences and against autograd."""

from __future__ import annotations

import pytest
import torch

from draw_lightning.models import DRAW, filterbank, unrolled
from draw_lightning.models.attention_backward import filterbank_backward
from draw_lightning.models.unrolled import unrolled_draw

# Small enough for finite differences in float64; non-square, two channels, every read/write kind.
CASES = {
    "attention": dict(image_shape=(2, 6, 7), read_n=2, write_n=3),
    "no attention": dict(image_shape=(2, 6, 7), read_attention=False, write_attention=False),
    "read attention only": dict(image_shape=(1, 5, 6), read_n=3, write_attention=False),
    "write attention only": dict(image_shape=(1, 5, 6), read_attention=False, write_n=2),
}
SIZES = dict(num_steps=3, enc_hidden=4, dec_hidden=5, z_dim=2)


def _model(case: dict, dtype: torch.dtype = torch.float64) -> DRAW:
    torch.manual_seed(0)
    model = DRAW(**case, **SIZES).to(dtype)
    with torch.no_grad():  # away from the all-zero initial states, so every path carries gradient
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_of_every_input_against_finite_differences(name: str) -> None:
    model = _model(CASES[name])
    x = torch.rand(3, *model.image_shape, dtype=torch.float64)
    noise = torch.randn(model.num_steps, 3, model.z_dim, dtype=torch.float64)
    weights = [w.detach().requires_grad_() for w in model._fused_weights()]
    states = [t.detach().requires_grad_() for t in (model.canvas0, model.enc_state0, model.dec_state0)]

    def run(canvas0, enc_state0, dec_state0, *weights):
        logits, latents, *_ = unrolled_draw(
            model._dims(), x, noise, canvas0=canvas0, enc_state0=enc_state0, dec_state0=dec_state0, weights=weights
        )
        return logits, latents

    assert torch.autograd.gradcheck(run, (*states, *weights), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", list(CASES))
def test_loss_gradients_equal_autograd_through_the_step_by_step_path(name: str) -> None:
    unrolled = _model(CASES[name])
    stepwise = _model(CASES[name])
    stepwise.checkpoint_steps = True  # the per-step autograd path, recomputed in backward
    x = torch.rand(4, *unrolled.image_shape, dtype=torch.float64)
    losses = [m(x, generator=torch.Generator().manual_seed(1)).loss.sum() for m in (unrolled, stepwise)]
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-12, atol=1e-10)
    for loss in losses:
        loss.backward()
    for (name_, a), b in zip(unrolled.named_parameters(), stepwise.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12, msg=f"gradient of {name_}")


def test_forward_without_grad_matches_forward_with_grad_and_the_trace_matches_autograds() -> None:
    model = _model(CASES["attention"], torch.float32)
    x = torch.rand(5, *model.image_shape)
    with_grad = model(x, record=True, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        without = model(x, record=True, generator=torch.Generator().manual_seed(2))
        model.checkpoint_steps = True
        stepwise = model(x, record=True, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(with_grad.loss.detach(), without.loss, rtol=0, atol=0)
    torch.testing.assert_close(without.trace.canvases, stepwise.trace.canvases, rtol=1e-5, atol=1e-6)
    for a, b in zip(without.trace.read.as_tuple(), stepwise.trace.read.as_tuple(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(without.trace.write.as_tuple(), stepwise.trace.write.as_tuple(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_filterbank_backward_equals_autograd_including_cut_weights() -> None:
    torch.manual_seed(3)
    center = (torch.rand(6, 2, dtype=torch.float64) * 40 - 5).requires_grad_()  # some windows off the image
    stride = (torch.rand(6, 1, dtype=torch.float64) * 3).requires_grad_()
    variance = (torch.rand(6, 1, dtype=torch.float64) * 2 + 0.05).requires_grad_()
    bank = filterbank(center, stride, variance, n=4, size=28)
    grad = torch.randn_like(bank)
    expected = torch.autograd.grad(bank, (center, stride, variance), grad)
    got = filterbank_backward(grad, bank.detach(), center.detach(), stride.detach(), variance.detach(), n=4)
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1].sum(-1), expected[1][:, 0])  # stride broadcast over both axes
    torch.testing.assert_close(got[2].sum(-1), expected[2][:, 0])
    assert (bank == 0).any(), "the case must include weights cut to zero"


@pytest.mark.parametrize("rows", [4, 8])  # batch 4, T=3: chunks of one step, then of two steps and one
def test_weight_gradients_in_chunks_of_steps_equal_one_chunk(rows: int, monkeypatch) -> None:
    grads = {}
    for rows_per_product in (4096, rows):
        monkeypatch.setattr(unrolled, "ROWS_PER_PRODUCT", rows_per_product)
        model = _model(CASES["attention"])
        model(torch.rand(4, *model.image_shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64),
              generator=torch.Generator().manual_seed(6)).loss.sum().backward()  # fmt: skip
        grads[rows_per_product] = [p.grad for p in model.parameters()]
    for a, b in zip(grads[4096], grads[rows], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
