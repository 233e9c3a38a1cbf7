"""DRAW: Deep Recurrent Attentive Writer (Gregor et al. 2015), a plain ``nn.Module``.

Shapes: images ``(batch, C, B, A)`` (channels, height B, width A) with values in [0, 1], used
as Bernoulli targets; ``T`` = ``num_steps``. Equation numbers refer to the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from draw_lightning.models.attention import (
    AttentionParams,
    attention_params,
    filterbanks,
    read_attentive,
    tiled_window_bias,
    write_attentive,
)
from draw_lightning.models.compile import compiled_or_eager
from draw_lightning.models.fused import FusedWeights, fuse_weights, lstm_update
from draw_lightning.models.unrolled import UnrolledDims, unrolled_draw

__all__ = ["DRAW", "WINDOW_INITS", "DrawOutput", "DrawTrace", "kl_standard_normal"]

# Initial bias of the attention windows: the grid tiling the image, or the paper's zero bias.
WINDOW_INITS = ("tile", "paper")


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
    used only when ``read_attention``/``write_attention`` is on. ``compile_step``: run each step
    through ``torch.compile`` (eager if no compiler); ``checkpoint_steps``: recompute each step in
    backward instead of keeping its activations (for large images or T). ``window_init``:
    ``"tile"`` starts each attention grid tiling the image (:func:`tiled_window_bias`; without it
    training on MNIST or Quick, Draw! collapses to the data mean), ``"paper"`` the literal zero bias.
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
        window_init: str = "tile",
        compile_step: bool = False,
        checkpoint_steps: bool = False,
    ) -> None:
        super().__init__()
        if window_init not in WINDOW_INITS:
            raise ValueError(f"DRAW: window_init must be one of {', '.join(WINDOW_INITS)}, got {window_init!r}")
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
        self.compile_step = compile_step
        self.checkpoint_steps = checkpoint_steps
        self._compiled_step = None  # built on first use; not copied or pickled
        pixels = channels * height * width

        read_size = 2 * channels * read_n * read_n if read_attention else 2 * pixels
        self.encoder = nn.LSTMCell(read_size + dec_hidden, enc_hidden)
        self.decoder = nn.LSTMCell(z_dim, dec_hidden)
        self.to_latent = nn.Linear(enc_hidden, 2 * z_dim)  # mu and log sigma (eqs. 4, 5)
        # Three maps of h^dec: separate parameters, applied as one product in forward.
        self.read_window = nn.Linear(dec_hidden, 5) if read_attention else None
        self.write_window = nn.Linear(dec_hidden, 5) if write_attention else None
        self.write_patch = nn.Linear(dec_hidden, channels * write_n * write_n if write_attention else pixels)
        for window, n, write in ((self.read_window, read_n, False), (self.write_window, write_n, True)):
            if window is not None:
                with torch.no_grad():
                    if window_init == "tile":
                        window.bias.copy_(tiled_window_bias(n=n, width=width, height=height, write=write))
                    else:
                        window.bias.zero_()

        # Learned initial canvas and LSTM states (paper, section 2).
        self.canvas0 = nn.Parameter(torch.zeros(channels, height, width))
        self.enc_state0 = nn.Parameter(torch.zeros(2, enc_hidden))
        self.dec_state0 = nn.Parameter(torch.zeros(2, dec_hidden))

    def __getstate__(self) -> dict[str, Any]:
        return dict(super().__getstate__(), _compiled_step=None)

    # -- helpers ---------------------------------------------------------------------------

    def _heads(self) -> list[nn.Linear]:
        """Every linear map of h^dec that is not recurrent, in the order :meth:`_split_heads` reads."""
        return [m for m in (self.write_patch, self.write_window, self.read_window) if m is not None]

    def _fused_weights(self) -> FusedWeights:
        return fuse_weights(encoder=self.encoder, decoder=self.decoder, to_latent=self.to_latent, heads=self._heads())

    def _split_heads(self, out: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(write patch, raw write window, raw read window) from the heads block of a product."""
        parts = list(out.split([m.out_features for m in self._heads()], dim=-1))
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
        # A copy, not a view: backward keeps the patch, and a view would keep the whole product.
        patch = patch.contiguous().view(-1, c, self.write_n, self.write_n)
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

    def _step(
        self,
        x: Tensor,
        canvas: Tensor,
        c_enc: Tensor,
        c_dec: Tensor,
        enc_in: Tensor,
        dec_in: Tensor,
        read_raw: Tensor | None,
        noise: Tensor,
        w: FusedWeights,
        last: bool,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None, Tensor, Tensor | None]:
        """One step of eqs. 3-8 with one product per hidden state.

        ``enc_in``/``dec_in``: the recurrent parts of the encoder/decoder gates, already computed
        from the previous hidden states. The last step skips the recurrent rows nobody reads.
        """
        z_dim2 = 2 * self.z_dim
        heads = sum(m.out_features for m in self._heads())
        x_hat = x - torch.sigmoid(canvas)  # eq. 3
        r, _ = self._read(x, x_hat, read_raw)  # eq. 4
        h_enc, c_enc = lstm_update(torch.addmm(enc_in, r, w.enc_read_w.t()), c_enc)  # eq. 5
        # One split per product (not one slice per part): backward then joins the gradients once.
        if last:
            latent = F.linear(h_enc, w.enc_w[:z_dim2], w.enc_b[:z_dim2])
        else:
            latent, enc_rec = torch.addmm(w.enc_b, h_enc, w.enc_w.t()).split([z_dim2, w.enc_w.shape[0] - z_dim2], 1)
        mu, log_sigma = latent.chunk(2, dim=-1)
        z = torch.addcmul(mu, torch.exp(log_sigma), noise)  # eq. 6, reparameterised
        h_dec, c_dec = lstm_update(torch.addmm(dec_in, z, w.dec_z_w.t()), c_dec)  # eq. 7
        if last:
            head_out = F.linear(h_dec, w.dec_w[:heads], w.dec_b[:heads])
        else:
            # Two products, not one 2083 wide: on CPU a weight block past ~1 MB (the L2 cache)
            # multiplies more slowly (benchmarks/README.md).
            rows = heads + w.dec_z_w.shape[0]
            head_out, next_dec_in = torch.addmm(w.dec_b[:rows], h_dec, w.dec_w[:rows].t()).split(
                [heads, rows - heads], 1
            )
            enc_from_dec = torch.addmm(w.dec_b[rows:], h_dec, w.dec_w[rows:].t())
        patch, write_raw, next_read_raw = self._split_heads(head_out)
        delta, _ = self._write(patch, write_raw)
        canvas = canvas + delta  # eq. 8
        if last:
            return canvas, c_enc, c_dec, None, None, next_read_raw, latent, write_raw
        next_enc_in = enc_rec + enc_from_dec
        return canvas, c_enc, c_dec, next_enc_in, next_dec_in, next_read_raw, latent, write_raw

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
        """Encode and reconstruct ``x`` ``(batch, C, B, A)`` in [0, 1] (eqs. 3-8, 9-12).

        Runs the unrolled steps with their hand-written backward (unrolled.py), or step by step
        under autograd when ``checkpoint_steps`` asks for it or under autocast (mixed precision),
        whose per-op casts only autograd's path follows. ``compile_step`` compiles either path's step.
        """
        self.check_images(x)
        batch = x.shape[0]
        noise = torch.randn(self.num_steps, batch, self.z_dim, generator=generator, device=x.device, dtype=x.dtype)
        if self.checkpoint_steps or torch.is_autocast_enabled(x.device.type):
            canvas, latents, trace = self._forward_steps(x, noise, record=record)
        else:
            canvas, latents, canvases, read_raws, write_raws = unrolled_draw(
                self._dims(),
                x,
                noise,
                canvas0=self.canvas0,
                enc_state0=self.enc_state0,
                dec_state0=self.dec_state0,
                weights=self._fused_weights(),
                record=record,
                compile=self.compile_step,
            )
            raws = (read_raws if self.read_attention else None, write_raws if self.write_attention else None)
            trace = self._record(canvases, *raws) if record else None

        # Eqs. 10-11 for all steps at once; z is recomputed from the same mu, sigma and noise.
        mu, log_sigma = latents.chunk(2, dim=-1)  # (T, batch, z_dim)
        kl_per_step = kl_standard_normal(mu, log_sigma).t()
        z = torch.addcmul(mu, torch.exp(log_sigma), noise)
        # log p(z) - log q(z|x); the 2*pi terms cancel.
        log_ratio = (0.5 * noise.square() + log_sigma - 0.5 * z.square()).sum((0, 2))
        # eq. 9: Bernoulli -log D(x | sigma(c_T)), summed over pixels and channels.
        rec_loss = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(-1)
        return DrawOutput(
            rec_loss=rec_loss, kl_per_step=kl_per_step, log_weight=log_ratio - rec_loss, logits=canvas, trace=trace
        )

    def _dims(self) -> UnrolledDims:
        c, h, w = self.image_shape
        return UnrolledDims(
            channels=c,
            height=h,
            width=w,
            num_steps=self.num_steps,
            z_dim=self.z_dim,
            enc_hidden=self.enc_state0.shape[1],
            dec_hidden=self.dec_state0.shape[1],
            read_n=self.read_n if self.read_attention else 0,
            write_n=self.write_n if self.write_attention else 0,
        )

    def _forward_steps(self, x: Tensor, noise: Tensor, *, record: bool) -> tuple[Tensor, Tensor, DrawTrace | None]:
        """The steps one by one under autograd: (c_T, latents ``(T, batch, 2 z_dim)``, trace)."""
        batch = x.shape[0]
        w = self._fused_weights()
        canvas, c_enc, c_dec = self.canvas0.expand(batch, *self.image_shape), self.enc_state0[1], self.dec_state0[1]
        c_enc, c_dec = c_enc.expand(batch, -1), c_dec.expand(batch, -1)
        # The initial states are shared by the batch: their products are one row, broadcast.
        heads = sum(m.out_features for m in self._heads())
        enc_out = F.linear(self.enc_state0[:1], w.enc_w[2 * self.z_dim :], w.enc_b[2 * self.z_dim :])
        dec_out = F.linear(self.dec_state0[:1], w.dec_w, w.dec_b)
        dec_hidden = c_dec.shape[1]
        enc_in = enc_out + dec_out[:, heads + 4 * dec_hidden :]
        dec_in = dec_out[:, heads : heads + 4 * dec_hidden]
        read_raw = self._split_heads(dec_out[:, :heads].expand(batch, -1))[2]

        step = self._step_function()
        latents, canvases, read_raws, write_raws = [], [], [], []
        for t in range(self.num_steps):
            if record:
                read_raws.append(read_raw)
            last = t == self.num_steps - 1
            canvas, c_enc, c_dec, enc_in, dec_in, read_raw, latent, write_raw = step(
                x, canvas, c_enc, c_dec, enc_in, dec_in, read_raw, noise[t], w, last
            )
            latents.append(latent)
            if record:
                canvases.append(canvas.detach())
                write_raws.append(write_raw)

        trace = self._record(torch.stack(canvases), *self._stacked(read_raws, write_raws)) if record else None
        return canvas, torch.stack(latents), trace

    def _step_function(self):
        """The step as run: eager, per-step checkpointed, or compiled (see the constructor)."""
        if self.compile_step and self._compiled_step is None:
            self._compiled_step = compiled_or_eager(self._step, device=self.canvas0.device)
        step = self._compiled_step if self.compile_step else self._step
        if self.checkpoint_steps and torch.is_grad_enabled():
            return partial(checkpoint, step, use_reentrant=False)
        return step

    def _record(self, canvases: Tensor, read_raws: Tensor | None, write_raws: Tensor | None) -> DrawTrace:
        """A trace from canvas logits ``(T, batch, C, B, A)`` and raw windows ``(T, batch, 5)``."""
        _, h, w = self.image_shape

        def windows(raws: Tensor | None, n: int) -> AttentionParams | None:
            return None if raws is None else attention_params(raws.detach(), width=w, height=h, n=n)

        return DrawTrace(
            canvases=torch.sigmoid(canvases.detach()),
            read=windows(read_raws, self.read_n),
            write=windows(write_raws, self.write_n),
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
        # Only the decoder's recurrence is sequential: one product of [z_t, h^dec_{t-1}] per step.
        # Every head of h^dec and every write are one batched product over all T steps, and the
        # canvases a cumsum.
        steps, dec_hidden, z_dim = self.num_steps, self.dec_state0.shape[1], self.z_dim
        w = self._fused_weights()
        heads = sum(m.out_features for m in self._heads())
        rec_w, rec_b = w.dec_w[heads : heads + 4 * dec_hidden], w.dec_b[heads : heads + 4 * dec_hidden]
        gate_w = torch.cat([w.dec_z_w * temperature, rec_w], dim=1).t()  # z_t = temperature * noise_t
        inputs = noise.new_empty(steps + 1, num_samples, z_dim + dec_hidden)  # [noise_t, h^dec_{t-1}]
        inputs[:-1, :, :z_dim] = noise
        hidden = inputs[:, :, z_dim:]  # h^dec_0..h^dec_T
        hidden[0] = self.dec_state0[0]
        c_dec = self.dec_state0[1].expand(num_samples, -1)
        for t in range(steps):
            hidden[t + 1], c_dec = lstm_update(torch.addmm(rec_b, inputs[t], gate_w), c_dec)  # eq. 7
        head_out = torch.addmm(w.dec_b[:heads], hidden.reshape(-1, dec_hidden), w.dec_w[:heads].t())
        patch, write_raw, read_raw = self._split_heads(head_out.view(steps + 1, num_samples, heads))
        write_raw = None if write_raw is None else write_raw[1:]
        # The read window of step t is the one h^dec_{t-1} would give (see DrawTrace).
        read_raw = None if read_raw is None else read_raw[:-1]
        flat_raw = None if write_raw is None else write_raw.reshape(-1, write_raw.shape[-1])
        deltas, _ = self._write(patch[1:].reshape(steps * num_samples, -1), flat_raw)
        canvases = deltas.view(steps, num_samples, *self.image_shape)
        canvases[0] += self.canvas0  # c_t = c_0 + sum of writes, added in the order of eq. 8
        return self._record(canvases.cumsum_(0), read_raw, write_raw)

    @staticmethod
    def _stacked(*raws: list[Tensor | None]) -> tuple[Tensor | None, ...]:
        """Per-step raw windows stacked ``(T, batch, 5)``; ``None`` where there is no attention."""
        return tuple(None if r[0] is None else torch.stack(r) for r in raws)

    def extra_repr(self) -> str:
        c, h, w = self.image_shape
        read = f"attention {self.read_n}x{self.read_n}" if self.read_attention else "full image"
        write = f"attention {self.write_n}x{self.write_n}" if self.write_attention else "full image"
        return f"image=({c}, {h}, {w}), T={self.num_steps}, z_dim={self.z_dim}, read={read}, write={write}"


def nats_to_bits_per_dim(nats: Tensor | float, num_dims: int) -> Tensor | float:
    """Convert nats per image to bits per dimension."""
    return nats / (num_dims * math.log(2))
