import math

import numpy as np
import pytest
import torch

from draw_lightning.lightning_modules import DRAWLitModule
from draw_lightning.models import DRAW, iwae_log_weights, iwae_nll


def small_net() -> DRAW:
    torch.manual_seed(0)
    return DRAW(image_shape=(1, 8, 8), num_steps=3, enc_hidden=8, dec_hidden=8, z_dim=2, read_n=2, write_n=2)


def test_k_equal_one_is_minus_the_log_weight_of_one_posterior_sample():
    net, x = small_net(), torch.rand(5, 1, 8, 8)
    expected = -net(x, generator=torch.Generator().manual_seed(3)).log_weight
    got = iwae_nll(net, x, num_samples=1, chunk_size=64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(got, expected.detach())


def test_log_weights_are_k_by_batch_and_chunking_keeps_each_image_in_its_column():
    net = small_net()
    with torch.no_grad():
        net.canvas0.fill_(4.0)  # canvas near white: log p(x|z) of black, white and grey images far apart
    x = torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8), torch.full((1, 8, 8), 0.5)])
    log_w = iwae_log_weights(net, x, num_samples=7, chunk_size=4, generator=torch.Generator().manual_seed(0))
    assert log_w.shape == (7, 3) and torch.isfinite(log_w).all()
    assert log_w.unique().numel() == 21  # 21 distinct posterior draws, none repeated by the chunking
    # Column b holds image b whatever the chunking: the three images have very different
    # likelihoods, while the posterior noise moves log w by far less.
    whole = iwae_log_weights(net, x, num_samples=7, chunk_size=21, generator=torch.Generator().manual_seed(0))
    spread = (log_w.max(0).values - log_w.min(0).values).max()
    gaps = (whole.mean(0)[:, None] - whole.mean(0)[None, :]).abs() + torch.eye(3) * 1e9
    assert spread < gaps.min() / 4
    torch.testing.assert_close(log_w.mean(0), whole.mean(0), atol=float(spread), rtol=0)


def test_bound_is_logmeanexp_of_the_weights():
    net, x = small_net(), torch.rand(4, 1, 8, 8)
    log_w = iwae_log_weights(net, x, num_samples=5, chunk_size=20, generator=torch.Generator().manual_seed(1))
    nll = iwae_nll(net, x, num_samples=5, chunk_size=20, generator=torch.Generator().manual_seed(1))
    expected = -np.log(np.exp(log_w.double().numpy()).mean(0))
    np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-6)


def test_bad_k_or_chunk_size_is_named():
    net, x = small_net(), torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="num_samples"):
        iwae_nll(net, x, num_samples=0, chunk_size=4)
    with pytest.raises(ValueError, match="chunk_size"):
        iwae_nll(net, x, num_samples=2, chunk_size=0)


def test_on_a_trained_model_iwae_is_below_the_elbo_and_tightens_with_k(trained_ckpt, data_dir):
    net = DRAWLitModule.load_from_checkpoint(trained_ckpt, map_location="cpu").net.eval()
    cats = np.load(data_dir / "quickdraw" / "cat.npy", mmap_mode="r")[-128:]
    x = torch.from_numpy(np.asarray(cats, dtype=np.float32) / 255).view(-1, 1, 28, 28)
    with torch.no_grad():
        neg_elbo = float(net(x, generator=torch.Generator().manual_seed(0)).loss.mean())
    log_w = iwae_log_weights(net, x, num_samples=64, chunk_size=8192, generator=torch.Generator().manual_seed(1))
    # The first k of the same 64 draws: IWAE_k for k = 1, 8, 64 share their noise.
    bound = {k: float(-(torch.logsumexp(log_w[:k].double(), 0) - math.log(k)).mean()) for k in (1, 8, 64)}
    assert bound[64] <= bound[8] <= bound[1], bound
    assert bound[64] < neg_elbo, (bound, neg_elbo)
    assert abs(bound[1] - neg_elbo) < 0.02 * neg_elbo  # K = 1 estimates the same quantity as the ELBO
