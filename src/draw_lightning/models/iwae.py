"""Importance-weighted bound on -log p(x) (Burda et al. 2016) for a trained DRAW.

-log p(x) <= -log (1/K) sum_k w_k,  w_k = p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x).
The bound is tighter as K grows; K = 1 is the negative ELBO (in expectation).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from draw_lightning.models.draw import DRAW

__all__ = ["iwae_log_weights", "iwae_nll"]


@torch.no_grad()
def iwae_log_weights(
    net: DRAW, x: Tensor, *, num_samples: int, chunk_size: int, generator: torch.Generator | None = None
) -> Tensor:
    """log w for ``num_samples`` posterior samples of each image: ``(num_samples, batch)``.

    The K x batch copies of ``x`` go through ``net`` at most ``chunk_size`` at a time, so memory
    stays bounded whatever K is.
    """
    if num_samples < 1:
        raise ValueError(f"iwae: num_samples (K) must be >= 1, got {num_samples}")
    if chunk_size < 1:
        raise ValueError(f"iwae: chunk_size must be >= 1, got {chunk_size}")
    batch = x.shape[0]
    copies = x.unsqueeze(0).expand(num_samples, *x.shape).reshape(num_samples * batch, *x.shape[1:])
    weights = [net(chunk, generator=generator).log_weight for chunk in copies.split(chunk_size)]
    return torch.cat(weights).view(num_samples, batch)


def iwae_nll(
    net: DRAW, x: Tensor, *, num_samples: int, chunk_size: int, generator: torch.Generator | None = None
) -> Tensor:
    """IWAE estimate of -log p(x) in nats per image, ``(batch,)``: -(logsumexp_k log w_k - log K)."""
    log_w = iwae_log_weights(net, x, num_samples=num_samples, chunk_size=chunk_size, generator=generator)
    return -(torch.logsumexp(log_w.double(), dim=0) - math.log(num_samples)).to(x.dtype)
