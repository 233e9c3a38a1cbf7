"""DRAW as public implementations write it: the benchmarks' one straightforward comparator.

Nothing here comes from ``draw_lightning``. One step at a time, per Gregor et al. 2015, eqs. 3-12
and 19-29: ``nn.LSTMCell`` encoder and decoder, one ``nn.Linear`` per map, a 2-D Gaussian
filterbank read of x and of x̂ (separately) and write of a patch, a learned initial canvas and
LSTM states, Bernoulli reconstruction loss summed over pixels and the analytic KL of every step.
The parameters have the names and shapes of ``draw_lightning.models.DRAW``'s, so
``load_state_dict(draw.state_dict())`` gives the same model (:meth:`StraightforwardDRAW.like`),
and ``forward(x, generator=g)`` draws the same noise, ``torch.randn(T, batch, z_dim, generator=g)``.

Two uses, two settings (constructor keywords):

- ``bench_convergence.py`` (the defaults): ``window_init="paper"``, the paper's literal
  initialisation: zero bias of the window layers, so the first window is g~ = 0 (the image
  centre), delta = (max(A, B) - 1) / (N - 1), sigma = 1, gamma = 1. ``normalisation="eps"``:
  filter rows ``f / (f.sum() + 1e-8)`` as public implementations normalise them, and no bound on
  the log-parameters (``log_limit=None``). That is what the convergence figures of 2026-12-02
  (``benchmarks/README.md``) measured. It equals the exact normalisation while a row has weight on
  the image; a window far off the image underflows to a zero row (no read, no gradient back).
- ``bench_common.models`` / ``bench_train.py`` (:meth:`StraightforwardDRAW.like`): weights
  copied from a ``DRAW``, ``normalisation="softmax"`` (rows normalised exactly, as
  ``draw_lightning.models.attention.filterbank`` does) and the package's bounds on the
  log-parameters (``log_limit=10``). With those the two compute the same function: the only
  difference left is the package zeroing filter weights below exp(-60) of a row's largest, ~1e-26
  relative, so losses and gradients agree to rounding (float64: 1e-6 absolute and better, the test
  in ``tests/benchmarks``), and the benchmarks compare them at rtol 1e-4 in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "NORMALISATIONS",
    "PACKAGE_LOG_LIMIT",
    "WINDOW_INITS",
    "Output",
    "StraightforwardDRAW",
    "filterbank",
    "window",
]

WINDOW_INITS = ("paper", "torch")  # zero window bias, or nn.Linear's default (for weights loaded afterwards)
NORMALISATIONS = ("eps", "softmax")
PACKAGE_LOG_LIMIT = 10.0  # draw_lightning.models.attention.LOG_*_LIMIT, restated: nothing is imported


@dataclass
class Output:
    """The fields of ``draw_lightning.models.DrawOutput`` that the benchmarks read."""

    rec_loss: Tensor  # (batch,) -log D(x | sigma(c_T)) in nats
    kl_per_step: Tensor  # (batch, T)
    log_weight: Tensor  # (batch,) log p(x|z) + log p(z) - log q(z|x) for the sampled z
    logits: Tensor  # (batch, C, B, A) c_T

    @property
    def kl(self) -> Tensor:
        return self.kl_per_step.sum(-1)

    @property
    def loss(self) -> Tensor:
        """-ELBO per image, ``(batch,)``."""
        return self.rec_loss + self.kl


@dataclass
class Window:
    """Attention window per batch element (eqs. 21-24), each field ``(batch,)``; pixels count from 1."""

    center_x: Tensor
    center_y: Tensor
    stride: Tensor
    variance: Tensor
    intensity: Tensor


def window(raw: Tensor, *, width: int, height: int, n: int, log_limit: float | None = None) -> Window:
    """Eqs. 21-24 from the 5 outputs (g~_X, g~_Y, log sigma^2, log delta~, log gamma).

    ``log_limit``: clamp the three logs to [-limit, limit] first (the package's bound), or not.
    """
    gx_t, gy_t, log_variance, log_stride, log_gamma = raw.unbind(-1)
    if log_limit is not None:
        log_variance, log_stride, log_gamma = (
            v.clamp(-log_limit, log_limit) for v in (log_variance, log_stride, log_gamma)
        )
    return Window(
        center_x=(width + 1) / 2 * (gx_t + 1),
        center_y=(height + 1) / 2 * (gy_t + 1),
        stride=(max(width, height) - 1) / max(n - 1, 1) * torch.exp(log_stride),
        variance=torch.exp(log_variance),
        intensity=torch.exp(log_gamma),
    )


def filterbank(
    center: Tensor, stride: Tensor, variance: Tensor, *, n: int, size: int, normalisation: str = "eps"
) -> Tensor:
    """Eqs. 19-20, 25-26: ``(batch, n, size)``; filter i = 1..N centred at g + (i - N/2 - 0.5) delta.

    ``normalisation``: ``"eps"`` divides by the row sum + 1e-8, ``"softmax"`` normalises exactly.
    """
    i = torch.arange(1, n + 1, dtype=center.dtype, device=center.device)
    mu = center[:, None] + (i - n / 2 - 0.5) * stride[:, None]  # (batch, n)
    pixels = torch.arange(1, size + 1, dtype=center.dtype, device=center.device)
    log_f = -((pixels - mu[..., None]) ** 2) / (2 * variance[:, None, None])
    if normalisation == "softmax":
        return torch.softmax(log_f, dim=-1)
    f = torch.exp(log_f)
    return f / (f.sum(-1, keepdim=True) + 1e-8)


class StraightforwardDRAW(nn.Module):
    """DRAW step by step; the constructor keywords of ``DRAW``'s architecture plus how to initialise and normalise."""

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        num_steps: int = 64,
        enc_hidden: int = 256,
        dec_hidden: int = 256,
        z_dim: int = 100,
        read_attention: bool = True,
        write_attention: bool = True,
        read_n: int = 2,
        write_n: int = 5,
        window_init: str = "paper",
        normalisation: str = "eps",
        log_limit: float | None = None,
    ) -> None:
        super().__init__()
        if window_init not in WINDOW_INITS or normalisation not in NORMALISATIONS:
            raise ValueError(f"window_init in {WINDOW_INITS}, normalisation in {NORMALISATIONS}")
        channels, height, width = image_shape
        self.image_shape = (channels, height, width)
        self.num_steps, self.z_dim, self.read_n, self.write_n = num_steps, z_dim, read_n, write_n
        self.read_attention, self.write_attention = read_attention, write_attention
        self.normalisation, self.log_limit = normalisation, log_limit
        pixels = channels * height * width
        read_size = 2 * channels * read_n * read_n if read_attention else 2 * pixels
        self.encoder = nn.LSTMCell(read_size + dec_hidden, enc_hidden)
        self.decoder = nn.LSTMCell(z_dim, dec_hidden)
        self.to_latent = nn.Linear(enc_hidden, 2 * z_dim)  # mu and log sigma
        self.read_window = nn.Linear(dec_hidden, 5) if read_attention else None
        self.write_window = nn.Linear(dec_hidden, 5) if write_attention else None
        self.write_patch = nn.Linear(dec_hidden, channels * write_n * write_n if write_attention else pixels)
        if window_init == "paper":
            for layer in (self.read_window, self.write_window):
                if layer is not None:
                    nn.init.zeros_(layer.bias)
        self.canvas0 = nn.Parameter(torch.zeros(self.image_shape))
        self.enc_state0 = nn.Parameter(torch.zeros(2, enc_hidden))  # (h, c)
        self.dec_state0 = nn.Parameter(torch.zeros(2, dec_hidden))

    @classmethod
    def like(cls, draw: nn.Module, **options: Any) -> StraightforwardDRAW:
        """The comparator of a ``DRAW`` (the package's or a legacy one): same architecture and weights.

        Exact normalisation and the package's log bounds unless ``options`` say otherwise.
        """
        options = dict(window_init="torch", normalisation="softmax", log_limit=PACKAGE_LOG_LIMIT) | options
        model = cls(
            image_shape=tuple(draw.image_shape),
            num_steps=draw.num_steps,
            enc_hidden=draw.encoder.hidden_size,
            dec_hidden=draw.decoder.hidden_size,
            z_dim=draw.z_dim,
            read_attention=draw.read_attention,
            write_attention=draw.write_attention,
            read_n=draw.read_n,
            write_n=draw.write_n,
            **options,
        )
        model.to(draw.canvas0)  # dtype and device first: loading into float32 would round float64 weights
        model.load_state_dict(draw.state_dict())
        return model

    def filters(self, layer: nn.Linear, h_dec: Tensor, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """(F_X, F_Y, gamma) of the window that ``layer`` emits from ``h_dec``."""
        _, height, width = self.image_shape
        w = window(layer(h_dec), width=width, height=height, n=n, log_limit=self.log_limit)
        fx = filterbank(w.center_x, w.stride, w.variance, n=n, size=width, normalisation=self.normalisation)
        fy = filterbank(w.center_y, w.stride, w.variance, n=n, size=height, normalisation=self.normalisation)
        return fx, fy, w.intensity

    def read(self, x: Tensor, x_hat: Tensor, h_dec: Tensor) -> Tensor:
        """Eq. 17 (no attention) or eq. 27 on x and x̂, concatenated: ``(batch, 2 C N N)``."""
        batch = x.shape[0]
        if self.read_window is None:
            return torch.cat([x.reshape(batch, -1), x_hat.reshape(batch, -1)], dim=-1)
        fx, fy, gamma = self.filters(self.read_window, h_dec, self.read_n)
        fx, fy = fx[:, None], fy[:, None]  # the same filters for every channel
        glimpse_x = fy @ x @ fx.transpose(-1, -2)
        glimpse_x_hat = fy @ x_hat @ fx.transpose(-1, -2)
        r = torch.cat([glimpse_x.flatten(1), glimpse_x_hat.flatten(1)], dim=-1)
        return r * gamma[:, None]

    def write(self, h_dec: Tensor) -> Tensor:
        """Eq. 18 (no attention) or eq. 29: ``(1 / gamma) F_Y^T w F_X`` per channel, ``(batch, C, B, A)``."""
        channels, height, width = self.image_shape
        patch = self.write_patch(h_dec)
        if self.write_window is None:
            return patch.view(-1, channels, height, width)
        patch = patch.view(-1, channels, self.write_n, self.write_n)
        fx, fy, gamma = self.filters(self.write_window, h_dec, self.write_n)
        canvas_delta = fy[:, None].transpose(-1, -2) @ patch @ fx[:, None]
        return canvas_delta / gamma[:, None, None, None]

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> Output:
        batch = x.shape[0]
        noise = torch.randn(self.num_steps, batch, self.z_dim, generator=generator, device=x.device, dtype=x.dtype)
        canvas = self.canvas0.expand(batch, *self.image_shape)
        h_enc, c_enc = (s.expand(batch, -1) for s in self.enc_state0)
        h_dec, c_dec = (s.expand(batch, -1) for s in self.dec_state0)
        kls, log_ratio = [], x.new_zeros(batch)
        for t in range(self.num_steps):
            x_hat = x - torch.sigmoid(canvas)  # eq. 3
            r = self.read(x, x_hat, h_dec)  # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=-1), (h_enc, c_enc))  # eq. 5
            mu, log_sigma = self.to_latent(h_enc).chunk(2, dim=-1)
            z = mu + torch.exp(log_sigma) * noise[t]  # eq. 6
            kls.append(0.5 * (mu**2 + torch.exp(2 * log_sigma) - 2 * log_sigma - 1).sum(-1))  # eq. 11
            log_ratio = log_ratio + (0.5 * noise[t] ** 2 + log_sigma - 0.5 * z**2).sum(-1)  # log p(z) - log q(z|x)
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))  # eq. 7
            canvas = canvas + self.write(h_dec)  # eq. 8
        rec_loss = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(-1)  # eq. 9
        return Output(
            rec_loss=rec_loss, kl_per_step=torch.stack(kls, dim=1), log_weight=log_ratio - rec_loss, logits=canvas
        )

    @torch.no_grad()
    def generate(self, num_samples: int, *, noise: Tensor) -> Tensor:
        """Canvases sigma(c_t) ``(T, num_samples, C, B, A)`` from prior draws ``noise`` ``(T, num_samples, z_dim)``."""
        canvas = self.canvas0.expand(num_samples, *self.image_shape)
        h_dec, c_dec = (s.expand(num_samples, -1) for s in self.dec_state0)
        canvases = []
        for t in range(self.num_steps):
            h_dec, c_dec = self.decoder(noise[t], (h_dec, c_dec))  # eq. 13
            canvas = canvas + self.write(h_dec)  # eqs. 14-15
            canvases.append(torch.sigmoid(canvas))
        return torch.stack(canvases)
