"""A straightforward per-step DRAW, written the way public implementations write it.

The reference that :class:`~draw_lightning.models.DRAW` is measured and checked against
(``benchmarks/``, ``tests/models/test_draw_baseline.py``): the same equations and the same
parameter names, so ``BaselineDRAW.load_state_dict(draw.state_dict())`` gives the same model.
One ``nn.Linear``/``nn.LSTMCell`` call per map, filterbanks rebuilt with plain torch ops, x and
x̂ read separately, no care for denormal floats. Not for training runs: it is the slow path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from draw_lightning.models.attention import LOG_INTENSITY_LIMIT, LOG_STRIDE_LIMIT, LOG_VARIANCE_LIMIT
from draw_lightning.models.draw import DrawOutput

__all__ = ["BaselineDRAW"]


class BaselineDRAW(nn.Module):
    """DRAW step by step; same constructor keywords and state dict as ``DRAW``."""

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        num_steps: int = 64,
        enc_hidden: int = 256,
        dec_hidden: int = 256,
        z_dim: int = 100,
        read_attention: bool = True,
        write_attention: bool = True,
        read_n: int = 2,
        write_n: int = 5,
    ) -> None:
        super().__init__()
        channels, height, width = image_shape
        self.image_shape = (channels, height, width)
        self.num_steps, self.z_dim = num_steps, z_dim
        self.read_attention, self.write_attention = read_attention, write_attention
        self.read_n, self.write_n = read_n, write_n
        pixels = channels * height * width
        read_size = 2 * channels * read_n * read_n if read_attention else 2 * pixels
        self.encoder = nn.LSTMCell(read_size + dec_hidden, enc_hidden)
        self.decoder = nn.LSTMCell(z_dim, dec_hidden)
        self.to_latent = nn.Linear(enc_hidden, 2 * z_dim)
        self.read_window = nn.Linear(dec_hidden, 5) if read_attention else None
        self.write_window = nn.Linear(dec_hidden, 5) if write_attention else None
        self.write_patch = nn.Linear(dec_hidden, channels * write_n * write_n if write_attention else pixels)
        self.canvas0 = nn.Parameter(torch.zeros(channels, height, width))
        self.enc_state0 = nn.Parameter(torch.zeros(2, enc_hidden))
        self.dec_state0 = nn.Parameter(torch.zeros(2, dec_hidden))

    def _window(self, linear: nn.Linear, h_dec: Tensor, n: int) -> tuple[Tensor, ...]:
        """Attention window from h^dec (eqs. 21-24), with DRAW's bounds on the logs."""
        _, height, width = self.image_shape
        params = linear(h_dec)
        gx_, gy_, log_var, log_delta, log_gamma = params.split(1, dim=1)
        gx = (width + 1) / 2 * (gx_ + 1)
        gy = (height + 1) / 2 * (gy_ + 1)
        delta = (
            (max(width, height) - 1) / max(n - 1, 1) * torch.exp(log_delta.clamp(-LOG_STRIDE_LIMIT, LOG_STRIDE_LIMIT))
        )
        var = torch.exp(log_var.clamp(-LOG_VARIANCE_LIMIT, LOG_VARIANCE_LIMIT))
        gamma = torch.exp(log_gamma.clamp(-LOG_INTENSITY_LIMIT, LOG_INTENSITY_LIMIT))
        return gx, gy, delta, var, gamma

    @staticmethod
    def _filterbank(g: Tensor, delta: Tensor, var: Tensor, n: int, size: int) -> Tensor:
        """Eqs. 19, 25-26: ``(batch, n, size)``, rows normalised."""
        grid = torch.arange(0, n, dtype=g.dtype, device=g.device).view(1, -1)
        mu = g + (grid + 1 - n / 2 - 0.5) * delta  # (batch, n)
        a = torch.arange(1, size + 1, dtype=g.dtype, device=g.device).view(1, 1, -1)
        return torch.softmax(-torch.square(a - mu.unsqueeze(-1)) / (2 * var.unsqueeze(-1)), dim=-1)

    def _read(self, x: Tensor, x_hat: Tensor, h_dec: Tensor) -> Tensor:
        batch = x.shape[0]
        if not self.read_attention:  # eq. 17
            return torch.cat([x.view(batch, -1), x_hat.view(batch, -1)], dim=1)
        _, height, width = self.image_shape
        gx, gy, delta, var, gamma = self._window(self.read_window, h_dec, self.read_n)
        fx = self._filterbank(gx, delta, var, self.read_n, width)
        fy = self._filterbank(gy, delta, var, self.read_n, height)

        def read_one(img: Tensor) -> Tensor:  # eq. 27, each image on its own
            glimpse = fy.unsqueeze(1) @ img @ fx.unsqueeze(1).transpose(-1, -2)
            return glimpse.view(batch, -1) * gamma

        return torch.cat([read_one(x), read_one(x_hat)], dim=1)

    def _write(self, h_dec: Tensor) -> Tensor:
        batch = h_dec.shape[0]
        c, height, width = self.image_shape
        w = self.write_patch(h_dec)
        if not self.write_attention:  # eq. 18
            return w.view(batch, c, height, width)
        gx, gy, delta, var, gamma = self._window(self.write_window, h_dec, self.write_n)
        fx = self._filterbank(gx, delta, var, self.write_n, width)
        fy = self._filterbank(gy, delta, var, self.write_n, height)
        w = w.view(batch, c, self.write_n, self.write_n)
        canvas = fy.unsqueeze(1).transpose(-1, -2) @ w @ fx.unsqueeze(1)  # eq. 29
        return canvas / gamma.view(batch, 1, 1, 1)

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> DrawOutput:
        """Negative ELBO terms of ``x``; draws the same noise as ``DRAW.forward`` for a generator."""
        batch = x.shape[0]
        noise = torch.randn(self.num_steps, batch, self.z_dim, generator=generator, device=x.device, dtype=x.dtype)
        c = self.canvas0.expand(batch, *self.image_shape)
        h_enc, c_enc = (s.expand(batch, -1) for s in self.enc_state0)
        h_dec, c_dec = (s.expand(batch, -1) for s in self.dec_state0)
        kls, log_ratio = [], torch.zeros(batch, device=x.device, dtype=x.dtype)
        for t in range(self.num_steps):
            x_hat = x - torch.sigmoid(c)  # eq. 3
            r = self._read(x, x_hat, h_dec)  # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=1), (h_enc, c_enc))  # eq. 5
            mu, log_sigma = self.to_latent(h_enc).chunk(2, dim=1)
            sigma = torch.exp(log_sigma)
            z = mu + sigma * noise[t]  # eq. 6
            kls.append(0.5 * torch.sum(mu * mu + sigma * sigma - 2 * log_sigma - 1, dim=1))
            log_ratio = log_ratio + torch.sum(0.5 * noise[t] ** 2 + log_sigma - 0.5 * z**2, dim=1)
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))  # eq. 7
            c = c + self._write(h_dec)  # eq. 8
        rec_loss = F.binary_cross_entropy_with_logits(c, x, reduction="none").view(batch, -1).sum(1)
        return DrawOutput(
            rec_loss=rec_loss, kl_per_step=torch.stack(kls, dim=1), log_weight=log_ratio - rec_loss, logits=c
        )

    @torch.no_grad()
    def generate(self, num_samples: int, *, noise: Tensor) -> Tensor:
        """Canvases sigma(c_t) ``(T, num_samples, C, B, A)`` from prior draws ``noise`` ``(T, num_samples, z_dim)``."""
        c = self.canvas0.expand(num_samples, *self.image_shape)
        h_dec, c_dec = (s.expand(num_samples, -1) for s in self.dec_state0)
        canvases = []
        for t in range(self.num_steps):
            h_dec, c_dec = self.decoder(noise[t], (h_dec, c_dec))
            c = c + self._write(h_dec)
            canvases.append(torch.sigmoid(c))
        return torch.stack(canvases)
