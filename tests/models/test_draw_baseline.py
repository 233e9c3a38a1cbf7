"""The optimised DRAW against the straightforward per-step baseline: same weights, same numbers."""

import pytest
import torch

from draw_lightning.models import DRAW
from draw_lightning.models.draw_baseline import BaselineDRAW

SMALL = dict(num_steps=6, enc_hidden=32, dec_hidden=24, z_dim=8, read_n=3, write_n=4)
SETTINGS = {
    "attention": dict(SMALL),
    "no attention": dict(SMALL, read_attention=False, write_attention=False),
    "read only": dict(SMALL, write_attention=False),
}


def pair(config: dict, image_shape=(1, 12, 12), **options) -> tuple[DRAW, BaselineDRAW]:
    torch.manual_seed(0)
    model = DRAW(image_shape=image_shape, **config, **options)
    with torch.no_grad():  # move away from the zero initial states and canvas
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    baseline = BaselineDRAW(image_shape=image_shape, **config)
    baseline.load_state_dict(model.state_dict())
    return model, baseline


def images(batch: int = 5, shape=(1, 12, 12)) -> torch.Tensor:
    return (torch.rand(batch, *shape, generator=torch.Generator().manual_seed(3)) > 0.5).float()


@pytest.mark.parametrize("name", list(SETTINGS))
def test_losses_match_baseline(name: str) -> None:
    model, baseline = pair(SETTINGS[name])
    x = images()
    ours = model(x, generator=torch.Generator().manual_seed(7))
    theirs = baseline(x, generator=torch.Generator().manual_seed(7))
    for field in ("rec_loss", "kl_per_step", "log_weight", "logits"):
        torch.testing.assert_close(getattr(ours, field), getattr(theirs, field), rtol=1e-5, atol=1e-4)
    assert ours.kl_per_step.shape == (5, SMALL["num_steps"])


@pytest.mark.parametrize("name", list(SETTINGS))
def test_gradients_match_baseline(name: str) -> None:
    model, baseline = pair(SETTINGS[name])
    x = images()
    ours = torch.autograd.grad(
        model(x, generator=torch.Generator().manual_seed(7)).loss.sum(), list(model.parameters())
    )
    theirs = torch.autograd.grad(
        baseline(x, generator=torch.Generator().manual_seed(7)).loss.sum(), list(baseline.parameters())
    )
    names = [n for n, _ in model.named_parameters()]
    for param_name, g_ours, g_theirs in zip(names, ours, theirs, strict=True):
        assert g_theirs.abs().max() > 0, f"{param_name}: the test would not see a wrong gradient"
        torch.testing.assert_close(g_ours, g_theirs, rtol=1e-4, atol=1e-5, msg=lambda m, n=param_name: f"{n}: {m}")


def test_generation_matches_baseline_for_the_same_noise() -> None:
    model, baseline = pair(SETTINGS["attention"])
    noise = torch.randn(SMALL["num_steps"], 4, SMALL["z_dim"])
    trace = model.generate(4, noise=noise, temperature=1.0)
    torch.testing.assert_close(trace.canvases, baseline.generate(4, noise=noise), rtol=1e-5, atol=1e-6)
    assert trace.read.center_x.shape == trace.write.center_x.shape == (SMALL["num_steps"], 4)


def test_checkpointed_steps_give_the_same_loss_and_gradients() -> None:
    model, _ = pair(SETTINGS["attention"])
    checkpointed, _ = pair(SETTINGS["attention"], checkpoint_steps=True)
    x = images()
    plain = model(x, generator=torch.Generator().manual_seed(7)).loss.sum()
    recomputed = checkpointed(x, generator=torch.Generator().manual_seed(7)).loss.sum()
    torch.testing.assert_close(plain, recomputed)
    # The default path (unrolled, hand-written backward) sums in another order: float32 rounding.
    for a, b in zip(
        torch.autograd.grad(plain, list(model.parameters())),
        torch.autograd.grad(recomputed, list(checkpointed.parameters())),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_checkpointed_steps_keep_fewer_activations() -> None:
    """Per-step checkpointing keeps only each step's inputs for backward."""
    kept = {}
    for option in (False, True):
        model, _ = pair(dict(SMALL, num_steps=12), checkpoint_steps=option)
        storages = {}

        def pack(t: torch.Tensor, storages=storages) -> torch.Tensor:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(images(32)).loss.sum()
        kept[option] = sum(storages.values())
    assert kept[True] < 0.6 * kept[False], kept


@pytest.mark.slow
def test_compiled_step_matches_eager() -> None:
    model, _ = pair(SETTINGS["attention"])
    compiled, _ = pair(SETTINGS["attention"], compile_step=True)
    x = images()
    torch.testing.assert_close(
        compiled(x, generator=torch.Generator().manual_seed(7)).loss,
        model(x, generator=torch.Generator().manual_seed(7)).loss,
        rtol=1e-5,
        atol=1e-4,
    )
