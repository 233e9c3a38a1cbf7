"""DRAW: Deep Recurrent Attentive Writer (Gregor et al. 2015), a plain ``nn.Module``.

Shapes: images ``(batch, C, B, A)`` (channels, height B, width A) with values in [0, 1], used
as Bernoulli targets; ``T`` = ``num_steps``. Equation numbers refer to the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from draw_lightning.models.attention import (
    AttentionParams,
    attention_params,
    filterbanks,
    read_attentive,
    write_attentive,
)

__all__ = ["DRAW", "DrawOutput", "DrawTrace", "kl_standard_normal"]


def kl_standard_normal(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) summed over the last dim (eq. 11).

    ``1/2 sum(mu^2 + sigma^2 - 2 log sigma) - z_dim/2``: the constant is per latent dimension.
    """
    return 0.5 * (mu.square() + torch.exp(2 * log_sigma) - 2 * log_sigma - 1).sum(-1)


@dataclass
class DrawTrace:
    """Per-step record of a reconstruction or a generation.

    ``canvases``: ``(T, batch, C, B, A)``, sigma(c_t) for t = 1..T. ``read``/``write``: attention
    windows with fields ``(T, batch)``, or ``None`` for a non-attentive read/write. In
    generation ``read`` is the window the read *would* use, from h^dec_{t-1}.
    """

    canvases: Tensor
    read: AttentionParams | None
    write: AttentionParams | None


@dataclass
class DrawOutput:
    """Result of encoding and reconstructing a batch.

    ``rec_loss``: ``(batch,)`` L^x in nats; ``kl_per_step``: ``(batch, T)`` in nats;
    ``log_weight``: ``(batch,)`` log p(x|z) + log p(z) - log q(z|x) for the sampled z (for
    importance-weighted bounds); ``logits``: final canvas c_T ``(batch, C, B, A)``.
    """

    rec_loss: Tensor
    kl_per_step: Tensor
    log_weight: Tensor
    logits: Tensor
    trace: DrawTrace | None = None

    @property
    def kl(self) -> Tensor:
        """L^z per image, ``(batch,)``."""
        return self.kl_per_step.sum(-1)

    @property
    def loss(self) -> Tensor:
        """Negative ELBO per image, ``(batch,)``."""
        return self.rec_loss + self.kl


class DRAW(nn.Module):
    """The DRAW network: encoder/decoder LSTMs, read/write with or without attention.

    ``image_shape`` is ``(C, B, A)``. ``read_n``/``write_n`` are the attention grid sizes N,
    used only when ``read_attention``/``write_attention`` is on.
    """

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
        channels, height, width = (int(s) for s in image_shape)
        for name, value in dict(
            channels=channels,
            height=height,
            width=width,
            num_steps=num_steps,
            enc_hidden=enc_hidden,
            dec_hidden=dec_hidden,
            z_dim=z_dim,
            read_n=read_n,
            write_n=write_n,
        ).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"DRAW: {name} must be an integer >= 1, got {value!r}")
        self.image_shape = (channels, height, width)
        self.num_steps = num_steps
        self.z_dim = z_dim
        self.read_attention = read_attention
        self.write_attention = write_attention
        self.read_n = read_n
        self.write_n = write_n
        pixels = channels * height * width

        read_size = 2 * channels * read_n * read_n if read_attention else 2 * pixels
        self.encoder = nn.LSTMCell(read_size + dec_hidden, enc_hidden)
        self.decoder = nn.LSTMCell(z_dim, dec_hidden)
        self.to_latent = nn.Linear(enc_hidden, 2 * z_dim)  # mu and log sigma (eqs. 4, 5)
        # Three maps of h^dec: separate parameters, applied as one product in forward.
        self.read_window = nn.Linear(dec_hidden, 5) if read_attention else None
        self.write_window = nn.Linear(dec_hidden, 5) if write_attention else None
        self.write_patch = nn.Linear(dec_hidden, channels * write_n * write_n if write_attention else pixels)

        # Learned initial canvas and LSTM states (paper, section 2).
        self.canvas0 = nn.Parameter(torch.zeros(channels, height, width))
        self.enc_state0 = nn.Parameter(torch.zeros(2, enc_hidden))
        self.dec_state0 = nn.Parameter(torch.zeros(2, dec_hidden))

    # -- helpers ---------------------------------------------------------------------------

    def _decoder_heads(self) -> tuple[Tensor, Tensor, list[int]]:
        """Concatenated weights of every linear map of h^dec, and the split sizes."""
        heads = [m for m in (self.write_patch, self.write_window, self.read_window) if m is not None]
        weight = torch.cat([m.weight for m in heads])
        bias = torch.cat([m.bias for m in heads])
        return weight, bias, [m.out_features for m in heads]

    def _split_heads(self, out: Tensor, sizes: list[int]) -> tuple[Tensor, Tensor | None, Tensor | None]:
        parts = list(out.split(sizes, dim=-1))
        patch = parts.pop(0)
        write_raw = parts.pop(0) if self.write_window is not None else None
        read_raw = parts.pop(0) if self.read_window is not None else None
        return patch, write_raw, read_raw

    def _initial_state(self, batch: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        c, h, w = self.image_shape
        canvas = self.canvas0.expand(batch, c, h, w)
        h_enc, c_enc = (s.expand(batch, -1) for s in self.enc_state0)
        h_dec, c_dec = (s.expand(batch, -1) for s in self.dec_state0)
        return canvas, h_enc, c_enc, h_dec, c_dec

    def _write(self, patch: Tensor, write_raw: Tensor | None) -> tuple[Tensor, AttentionParams | None]:
        c, h, w = self.image_shape
        if write_raw is None:  # eq. 18
            return patch.view(-1, c, h, w), None
        params = attention_params(write_raw, width=w, height=h, n=self.write_n)
        fx, fy = filterbanks(params, n=self.write_n, width=w, height=h)
        patch = patch.view(-1, c, self.write_n, self.write_n)
        return write_attentive(patch, fx, fy, params.intensity), params

    def _read(self, x: Tensor, x_hat: Tensor, read_raw: Tensor | None) -> tuple[Tensor, AttentionParams | None]:
        batch = x.shape[0]
        if read_raw is None:  # eq. 17
            return torch.cat([x.reshape(batch, -1), x_hat.reshape(batch, -1)], dim=-1), None
        _, h, w = self.image_shape
        params = attention_params(read_raw, width=w, height=h, n=self.read_n)
        fx, fy = filterbanks(params, n=self.read_n, width=w, height=h)
        # x and x̂ read with one batched product (eq. 27).
        patches = read_attentive(torch.cat([x, x_hat], dim=1), fx, fy, params.intensity)
        return patches.reshape(batch, -1), params

    def check_images(self, x: Tensor) -> None:
        """Raise a ValueError naming the problem if ``x`` is not a batch this model can take."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"DRAW expects images of shape (batch, C, B, A) = (batch, {', '.join(map(str, self.image_shape))}), "
                f"got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(f"DRAW expects floating-point images in [0, 1], got dtype {x.dtype}")
        lo, hi = torch.aminmax(x.detach())
        if lo < 0 or hi > 1:
            raise ValueError(
                f"DRAW's Bernoulli likelihood needs pixel values in [0, 1], got min {lo.item():.4g}, "
                f"max {hi.item():.4g}; scale the data to [0, 1]"
            )

    # -- public API ------------------------------------------------------------------------

    def forward(self, x: Tensor, *, record: bool = False, generator: torch.Generator | None = None) -> DrawOutput:
        """Encode and reconstruct ``x`` ``(batch, C, B, A)`` in [0, 1] (eqs. 3-8, 9-12)."""
        self.check_images(x)
        batch = x.shape[0]
        canvas, h_enc, c_enc, h_dec, c_dec = self._initial_state(batch)
        head_w, head_b, head_sizes = self._decoder_heads()
        _, _, read_raw = self._split_heads(F.linear(h_dec, head_w, head_b), head_sizes)
        noise = torch.randn(self.num_steps, batch, self.z_dim, generator=generator, device=x.device, dtype=x.dtype)

        kls, log_ratio = [], x.new_zeros(batch)
        canvases, reads, writes = [], [], []
        for t in range(self.num_steps):
            x_hat = x - torch.sigmoid(canvas)  # eq. 3
            r, read_params = self._read(x, x_hat, read_raw)  # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=-1), (h_enc, c_enc))  # eq. 5
            mu, log_sigma = self.to_latent(h_enc).chunk(2, dim=-1)
            z = mu + torch.exp(log_sigma) * noise[t]  # eq. 6, reparameterised
            kls.append(kl_standard_normal(mu, log_sigma))
            # log p(z) - log q(z|x); the 2*pi terms cancel.
            log_ratio = log_ratio + (0.5 * noise[t].square() + log_sigma - 0.5 * z.square()).sum(-1)
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))  # eq. 7
            patch, write_raw, read_raw = self._split_heads(F.linear(h_dec, head_w, head_b), head_sizes)
            delta, write_params = self._write(patch, write_raw)
            canvas = canvas + delta  # eq. 8
            if record:
                canvases.append(torch.sigmoid(canvas).detach())
                reads.append(read_params.detach() if read_params is not None else None)
                writes.append(write_params.detach() if write_params is not None else None)

        # eq. 9: Bernoulli -log D(x | sigma(c_T)), summed over pixels and channels.
        rec_loss = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(-1)
        trace = self._trace(canvases, reads, writes) if record else None
        return DrawOutput(
            rec_loss=rec_loss,
            kl_per_step=torch.stack(kls, dim=-1),
            log_weight=log_ratio - rec_loss,
            logits=canvas,
            trace=trace,
        )

    @torch.no_grad()
    def generate(
        self,
        num_samples: int,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        noise: Tensor | None = None,
    ) -> DrawTrace:
        """Draw ``num_samples`` images from the prior (section 2.3): z_t ~ N(0, temperature^2 I).

        ``noise`` ``(T, num_samples, z_dim)`` fixes z, e.g. to compare epochs on the same draws.
        """
        param = self.canvas0
        if noise is None:
            noise = torch.randn(
                self.num_steps, num_samples, self.z_dim, generator=generator, device=param.device, dtype=param.dtype
            )
        expected = (self.num_steps, num_samples, self.z_dim)
        if tuple(noise.shape) != expected:
            raise ValueError(f"generate: noise must have shape {expected}, got {tuple(noise.shape)}")
        canvas, _, _, h_dec, c_dec = self._initial_state(num_samples)
        head_w, head_b, head_sizes = self._decoder_heads()
        _, _, read_raw = self._split_heads(F.linear(h_dec, head_w, head_b), head_sizes)
        canvases, reads, writes = [], [], []
        _, h, w = self.image_shape
        for t in range(self.num_steps):
            if read_raw is not None:
                reads.append(attention_params(read_raw, width=w, height=h, n=self.read_n))
            h_dec, c_dec = self.decoder(noise[t] * temperature, (h_dec, c_dec))
            patch, write_raw, read_raw = self._split_heads(F.linear(h_dec, head_w, head_b), head_sizes)
            delta, write_params = self._write(patch, write_raw)
            canvas = canvas + delta
            canvases.append(torch.sigmoid(canvas))
            writes.append(write_params)
        return self._trace(canvases, reads or [None] * self.num_steps, writes)

    @staticmethod
    def _trace(canvases: list[Tensor], reads: list, writes: list) -> DrawTrace:
        return DrawTrace(
            canvases=torch.stack(canvases),
            read=AttentionParams.stack(reads) if reads[0] is not None else None,
            write=AttentionParams.stack(writes) if writes[0] is not None else None,
        )

    def extra_repr(self) -> str:
        c, h, w = self.image_shape
        read = f"attention {self.read_n}x{self.read_n}" if self.read_attention else "full image"
        write = f"attention {self.write_n}x{self.write_n}" if self.write_attention else "full image"
        return f"image=({c}, {h}, {w}), T={self.num_steps}, z_dim={self.z_dim}, read={read}, write={write}"


def nats_to_bits_per_dim(nats: Tensor | float, num_dims: int) -> Tensor | float:
    """Convert nats per image to bits per dimension."""
    return nats / (num_dims * math.log(2))
