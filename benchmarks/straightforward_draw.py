"""DRAW as public implementations write it, with the paper's literal initialisation.

The independent comparator of ``bench_convergence.py``: nothing here comes from
``draw_lightning``. One step at a time, per Gregor et al. 2015, eqs. 3-12 and 19-29:
LSTMCell encoder and decoder, a 2-D Gaussian filterbank read of x and x̂ and write of a patch,
a learned initial canvas and LSTM states (zero-initialised parameters), Bernoulli reconstruction
loss summed over pixels and the analytic KL of every step. The attention-window layers keep a
zero bias, the paper's initialisation: at the first step the window is g~ = 0 (the image centre),
delta = (max(A, B) - 1) / (N - 1), sigma = 1, gamma = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class Output:
    loss: Tensor  # (batch,) -ELBO in nats
    kl: Tensor  # (batch,) summed over steps
    rec_loss: Tensor  # (batch,)


@dataclass
class Window:
    """Attention window per batch element (eqs. 21-24), each field ``(batch,)``; pixels count from 1."""

    center_x: Tensor
    center_y: Tensor
    stride: Tensor
    variance: Tensor
    intensity: Tensor


def window(raw: Tensor, *, width: int, height: int, n: int) -> Window:
    """Eqs. 21-24 from the 5 outputs (g~_X, g~_Y, log sigma^2, log delta~, log gamma)."""
    gx_t, gy_t, log_variance, log_stride, log_gamma = raw.unbind(-1)
    return Window(
        center_x=(width + 1) / 2 * (gx_t + 1),
        center_y=(height + 1) / 2 * (gy_t + 1),
        stride=(max(width, height) - 1) / (n - 1) * torch.exp(log_stride),
        variance=torch.exp(log_variance),
        intensity=torch.exp(log_gamma),
    )


def filterbank(center: Tensor, stride: Tensor, variance: Tensor, *, n: int, size: int) -> Tensor:
    """Eqs. 19-20, 25-26: ``(batch, n, size)``; filter i = 1..N centred at g + (i - N/2 - 0.5) delta."""
    i = torch.arange(1, n + 1, dtype=center.dtype, device=center.device)
    mu = center[:, None] + (i - n / 2 - 0.5) * stride[:, None]  # (batch, n)
    pixels = torch.arange(1, size + 1, dtype=center.dtype, device=center.device)
    f = torch.exp(-((pixels - mu[..., None]) ** 2) / (2 * variance[:, None, None]))
    return f / (f.sum(-1, keepdim=True) + 1e-8)


class StraightforwardDRAW(nn.Module):
    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        num_steps: int = 64,
        enc_hidden: int = 256,
        dec_hidden: int = 256,
        z_dim: int = 100,
        read_n: int = 2,
        write_n: int = 5,
    ) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.num_steps, self.z_dim, self.read_n, self.write_n = num_steps, z_dim, read_n, write_n
        channels, height, width = image_shape
        self.encoder = nn.LSTMCell(2 * channels * read_n * read_n + dec_hidden, enc_hidden)
        self.decoder = nn.LSTMCell(z_dim, dec_hidden)
        self.to_latent = nn.Linear(enc_hidden, 2 * z_dim)  # mu and log sigma
        self.read_window = nn.Linear(dec_hidden, 5)
        self.write_window = nn.Linear(dec_hidden, 5)
        self.write_patch = nn.Linear(dec_hidden, channels * write_n * write_n)
        for layer in (self.read_window, self.write_window):
            nn.init.zeros_(layer.bias)  # the paper's initialisation
        self.canvas0 = nn.Parameter(torch.zeros(image_shape))
        self.enc_state0 = nn.Parameter(torch.zeros(2, enc_hidden))  # (h, c)
        self.dec_state0 = nn.Parameter(torch.zeros(2, dec_hidden))

    def filters(self, layer: nn.Linear, h_dec: Tensor, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """(F_X, F_Y, gamma) of the window that ``layer`` emits from ``h_dec``."""
        _, height, width = self.image_shape
        w = window(layer(h_dec), width=width, height=height, n=n)
        fx = filterbank(w.center_x, w.stride, w.variance, n=n, size=width)
        fy = filterbank(w.center_y, w.stride, w.variance, n=n, size=height)
        return fx, fy, w.intensity

    def read(self, x: Tensor, x_hat: Tensor, h_dec: Tensor) -> Tensor:
        """Eq. 27 on x and x̂, concatenated: ``(batch, 2 C N N)``."""
        fx, fy, gamma = self.filters(self.read_window, h_dec, self.read_n)
        fx, fy = fx[:, None], fy[:, None]  # the same filters for every channel
        glimpse_x = fy @ x @ fx.transpose(-1, -2)
        glimpse_x_hat = fy @ x_hat @ fx.transpose(-1, -2)
        r = torch.cat([glimpse_x.flatten(1), glimpse_x_hat.flatten(1)], dim=-1)
        return r * gamma[:, None]

    def write(self, h_dec: Tensor) -> Tensor:
        """Eq. 29: ``(1 / gamma) F_Y^T w F_X`` per channel, ``(batch, C, B, A)``."""
        channels = self.image_shape[0]
        patch = self.write_patch(h_dec).view(-1, channels, self.write_n, self.write_n)
        fx, fy, gamma = self.filters(self.write_window, h_dec, self.write_n)
        canvas_delta = fy[:, None].transpose(-1, -2) @ patch @ fx[:, None]
        return canvas_delta / gamma[:, None, None, None]

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> Output:
        batch = x.shape[0]
        noise = torch.randn(self.num_steps, batch, self.z_dim, generator=generator, dtype=x.dtype)
        canvas = self.canvas0.expand(batch, *self.image_shape)
        h_enc, c_enc = (s.expand(batch, -1) for s in self.enc_state0)
        h_dec, c_dec = (s.expand(batch, -1) for s in self.dec_state0)
        kl = x.new_zeros(batch)
        for t in range(self.num_steps):
            x_hat = x - torch.sigmoid(canvas)  # eq. 3
            r = self.read(x, x_hat, h_dec)  # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=-1), (h_enc, c_enc))  # eq. 5
            mu, log_sigma = self.to_latent(h_enc).chunk(2, dim=-1)
            z = mu + torch.exp(log_sigma) * noise[t]  # eq. 6
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))  # eq. 7
            canvas = canvas + self.write(h_dec)  # eq. 8
            kl = kl + 0.5 * (mu**2 + torch.exp(2 * log_sigma) - 2 * log_sigma - 1).sum(-1)  # eq. 11
        rec_loss = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(-1)  # eq. 9
        return Output(loss=rec_loss + kl, kl=kl, rec_loss=rec_loss)
