"""DRAW against an independent float64 autograd implementation of the paper's equations.

The reference below is written straight from eqs. 3-11 and 19-29 with plain tensor operations
(explicit LSTM gates, filterbanks by their formula) and shares nothing with the package but the
parameter names. Values and every gradient (parameters and input images) must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from draw_lightning.models import DRAW

SMALL = dict(num_steps=5, enc_hidden=12, dec_hidden=10, z_dim=4, read_n=3, write_n=4)
SETTINGS = {
    "attention": dict(SMALL),
    "no attention": dict(SMALL, read_attention=False, write_attention=False),
    "read only": dict(SMALL, write_attention=False),
    "write only": dict(SMALL, read_attention=False),
}
IMAGE_SHAPE = (2, 7, 9)  # two channels, height != width
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_checkpoints"


def lstm(p: dict, name: str, inp: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    gates = inp @ p[f"{name}.weight_ih"].T + p[f"{name}.bias_ih"] + h @ p[f"{name}.weight_hh"].T + p[f"{name}.bias_hh"]
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def window(p: dict, name: str, h_dec: torch.Tensor, n: int, height: int, width: int):
    """Eqs. 19-26: F_X (batch, n, A), F_Y (batch, n, B) and gamma (batch,)."""
    gx_t, gy_t, log_var, log_delta, log_gamma = (h_dec @ p[f"{name}.weight"].T + p[f"{name}.bias"]).unbind(1)
    gx, gy = (width + 1) / 2 * (gx_t + 1), (height + 1) / 2 * (gy_t + 1)
    delta = (max(width, height) - 1) / (n - 1) * torch.exp(log_delta)
    var = torch.exp(log_var)

    def bank(g: torch.Tensor, size: int) -> torch.Tensor:
        i = torch.arange(1, n + 1, dtype=g.dtype)
        mu = g[:, None] + (i - n / 2 - 0.5) * delta[:, None]
        a = torch.arange(1, size + 1, dtype=g.dtype)
        f = torch.exp(-((a - mu[:, :, None]) ** 2) / (2 * var[:, None, None]))
        return f / f.sum(-1, keepdim=True)

    return bank(gx, width), bank(gy, height), torch.exp(log_gamma)


def reference(model: DRAW, x: torch.Tensor, noise: torch.Tensor, params: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(L^x, L^z) per image of eqs. 3-11, batched, from ``params`` (name -> tensor)."""
    p = params
    ch, height, width = model.image_shape
    batch = x.shape[0]
    canvas = p["canvas0"].expand(batch, -1, -1, -1)
    h_enc, c_enc = (s.expand(batch, -1) for s in p["enc_state0"])
    h_dec, c_dec = (s.expand(batch, -1) for s in p["dec_state0"])
    kl = 0
    for t in range(model.num_steps):
        x_hat = x - torch.sigmoid(canvas)  # eq. 3
        if model.read_attention:  # eq. 27
            fx, fy, gamma = window(p, "read_window", h_dec, model.read_n, height, width)
            r = torch.cat(
                [
                    (gamma[:, None, None] * fy @ img[:, k] @ fx.transpose(1, 2)).flatten(1)
                    for img in (x, x_hat)
                    for k in range(ch)
                ],
                dim=1,
            )
        else:  # eq. 17
            r = torch.cat([x.flatten(1), x_hat.flatten(1)], dim=1)
        h_enc, c_enc = lstm(p, "encoder", torch.cat([r, h_dec], 1), h_enc, c_enc)  # eq. 5
        out = h_enc @ p["to_latent.weight"].T + p["to_latent.bias"]
        mu, log_sigma = out[:, : model.z_dim], out[:, model.z_dim :]
        z = mu + torch.exp(log_sigma) * noise[t]  # eq. 6
        kl = kl + (0.5 * (mu**2 + torch.exp(2 * log_sigma) - 2 * log_sigma) - 0.5).sum(1)  # eq. 11
        h_dec, c_dec = lstm(p, "decoder", z, h_dec, c_dec)  # eq. 7
        w = h_dec @ p["write_patch.weight"].T + p["write_patch.bias"]
        if model.write_attention:  # eq. 29
            fx, fy, gamma = window(p, "write_window", h_dec, model.write_n, height, width)
            w = w.view(batch, ch, model.write_n, model.write_n)
            delta = torch.stack([fy.transpose(1, 2) @ w[:, k] @ fx for k in range(ch)], 1) / gamma[:, None, None, None]
        else:  # eq. 18
            delta = w.view(batch, ch, height, width)
        canvas = canvas + delta  # eq. 8
    # eq. 9, Bernoulli: -[x log sigma(c) + (1 - x) log(1 - sigma(c))]
    rec = -(x * torch.nn.functional.logsigmoid(canvas) + (1 - x) * torch.nn.functional.logsigmoid(-canvas))
    return rec.flatten(1).sum(1), kl


def perturbed(config: dict, **options) -> DRAW:
    torch.manual_seed(0)
    model = DRAW(image_shape=IMAGE_SHAPE, **config, **options).double()
    with torch.no_grad():  # away from zero initial states and canvas, so their use is tested too
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model


def images(batch: int = 3) -> torch.Tensor:
    return torch.rand(batch, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_values_and_every_gradient_match_the_reference(name: str) -> None:
    model = perturbed(SETTINGS[name])
    x = images().requires_grad_()
    out = model(x, generator=torch.Generator().manual_seed(7))
    noise = torch.randn(model.num_steps, 3, model.z_dim, generator=torch.Generator().manual_seed(7), dtype=x.dtype)
    params = dict(model.named_parameters())
    rec, kl = reference(model, x, noise, params)
    torch.testing.assert_close(out.rec_loss, rec, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(out.kl, kl, rtol=1e-10, atol=1e-10)
    # A weighted sum, so each image's gradient counts differently.
    weights = torch.tensor([1.0, -0.5, 2.0], dtype=x.dtype)
    inputs = [x, *params.values()]
    ours = torch.autograd.grad((out.loss * weights).sum(), inputs)
    theirs = torch.autograd.grad(((rec + kl) * weights).sum(), inputs)
    for input_name, a, b in zip(["x", *params], ours, theirs, strict=True):
        assert b.abs().max() > 1e-6, f"{input_name}: the test would not see a wrong gradient"
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10, msg=lambda m, n=input_name: f"{n}: {m}")


def test_generation_follows_eqs_13_to_15_for_the_same_noise() -> None:
    model = perturbed(SETTINGS["attention"])
    noise = torch.randn(model.num_steps, 4, model.z_dim, dtype=torch.float64)
    trace = model.generate(4, noise=noise, temperature=0.5)
    p = dict(model.named_parameters())
    _, height, width = IMAGE_SHAPE
    canvas = p["canvas0"].expand(4, -1, -1, -1)
    h, c = (s.expand(4, -1) for s in p["dec_state0"])
    with torch.no_grad():
        for t in range(model.num_steps):
            h, c = lstm(p, "decoder", 0.5 * noise[t], h, c)
            fx, fy, gamma = window(p, "write_window", h, model.write_n, height, width)
            w = (h @ p["write_patch.weight"].T + p["write_patch.bias"]).view(4, 2, model.write_n, model.write_n)
            canvas = (
                canvas
                + torch.stack([fy.transpose(1, 2) @ w[:, k] @ fx for k in range(2)], 1) / gamma[:, None, None, None]
            )
            torch.testing.assert_close(trace.canvases[t], torch.sigmoid(canvas), rtol=1e-10, atol=1e-12)
    assert trace.read.center_x.shape == trace.write.center_x.shape == (model.num_steps, 4)


def test_checkpointed_steps_give_the_same_loss_and_gradients_and_keep_less() -> None:
    plain, recomputed = perturbed(SMALL), perturbed(SMALL, checkpoint_steps=True)
    x = images(8)
    kept, grads = {}, {}
    for name, model in (("plain", plain), ("checkpointed", recomputed)):
        storages = {}

        def pack(t: torch.Tensor, storages=storages) -> torch.Tensor:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        xg = x.clone().requires_grad_()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = model(xg, generator=torch.Generator().manual_seed(7)).loss.sum()
        kept[name] = sum(storages.values())
        grads[name] = torch.autograd.grad(loss, [xg, *model.parameters()])
    for a, b in zip(grads["plain"], grads["checkpointed"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert kept["checkpointed"] < 0.6 * kept["plain"], kept


def test_compiled_step_matches_eager_in_values_and_every_gradient() -> None:
    from draw_lightning.models.compile import compiler_available

    if not compiler_available(torch.device("cpu")):
        pytest.skip("no C++ compiler: compile_step would run eagerly")
    eager, compiled = perturbed(SMALL), perturbed(SMALL, compile_step=True)
    x = images()
    results = []
    for model in (eager, compiled):
        xg = x.clone().requires_grad_()
        out = model(xg, generator=torch.Generator().manual_seed(7))
        results.append((out.loss, torch.autograd.grad(out.loss.sum(), [xg, *model.parameters()])))
    # The step really went through torch.compile (not the eager fallback).
    assert hasattr(compiled._compiled_step, "_torchdynamo_orig_callable")
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-9, atol=1e-9)
    for a, b in zip(results[1][1], results[0][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", ["draw_attn", "draw_noattn"])
def test_checkpoints_written_before_the_redesign_load_and_compute_the_same(name: str) -> None:
    from draw_lightning.pretrained import load_module

    expected = torch.load(FIXTURES / "expected.pt")
    want = expected[name]
    module = load_module(FIXTURES / f"{name}.ckpt").eval()
    x = expected["images"].float()
    with torch.no_grad():
        out = module.net(x, generator=torch.Generator().manual_seed(0), record=True)
        samples = module.net.generate(4, generator=torch.Generator().manual_seed(1))
    for field in ("loss", "rec_loss", "kl_per_step", "log_weight"):
        torch.testing.assert_close(getattr(out, field), want[field], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.trace.canvases, want["canvases"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(samples.canvases, want["samples"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["quickdraw_cat", "binarized_mnist_attn"])
def test_shipped_pretrained_weights_compute_what_they_did_before_the_redesign(name: str) -> None:
    from draw_lightning.pretrained import load_module, resolve_pretrained

    want = torch.load(FIXTURES / "expected.pt")[f"pretrained:{name}"]
    net = load_module(resolve_pretrained(name)).net.eval()
    with torch.no_grad():
        out = net(want["images"].float(), generator=torch.Generator().manual_seed(0))
        samples = net.generate(2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out.loss, want["loss"], rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(out.kl_per_step, want["kl_per_step"], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(samples.canvases[-1], want["samples"], rtol=1e-4, atol=1e-4)


def test_bf16_autocast_runs_the_same_model_close_to_float32() -> None:
    """Mixed precision (trainer=gpu_bf16 on a GPU) runs the one model path: values near float32."""
    torch.manual_seed(0)
    model = DRAW(image_shape=(1, 12, 12), **SMALL)
    x = (torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(1)) > 0.6).float()
    full = model(x, generator=torch.Generator().manual_seed(2))
    dtypes = []
    hook = model.to_latent.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model(x, generator=torch.Generator().manual_seed(2))
    hook.remove()
    assert set(dtypes) == {torch.bfloat16}  # the linear maps really ran in bf16 (CPU autocast keeps LSTM cells fp32)
    assert mixed.loss.dtype == torch.float32  # the loss is summed in float32
    torch.testing.assert_close(mixed.loss, full.loss, rtol=2e-2, atol=0.5)
    grads = [torch.autograd.grad(out.loss.sum(), list(model.parameters())) for out in (full, mixed)]
    cosine = torch.nn.functional.cosine_similarity(
        torch.cat([g.flatten() for g in grads[0]]), torch.cat([g.flatten() for g in grads[1]]), dim=0
    )
    assert cosine > 0.99, cosine


def test_training_resumes_from_a_checkpoint_written_before_the_redesign(tmp_path, make_trainer) -> None:
    """Weights, the old {name: adam} optimiser config and Adam's state all carry over."""
    from draw_lightning.lightning_modules import DRAWLitModule
    from tests.conftest import TensorImages

    path = FIXTURES / "draw_attn.ckpt"
    module = DRAWLitModule.load_from_checkpoint(path, map_location="cpu")
    assert module.hparams.optimizer["_target_"] == "torch.optim.Adam" and module.hparams.optimizer["lr"] == 3e-3
    saved_step = torch.load(path, weights_only=False)["global_step"]
    images = (torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    trainer = make_trainer(tmp_path, max_steps=saved_step + 2, limit_val_batches=0)
    trainer.fit(module, datamodule=TensorImages(train=images, val=images[:4], batch_size=8), ckpt_path=path)
    assert trainer.global_step == saved_step + 2
    (state,) = {int(s["step"]) for s in trainer.optimizers[0].state.values()}
    assert state == saved_step + 2  # Adam's step counts continued from the checkpoint's
