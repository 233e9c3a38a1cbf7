"""DRAW: Deep Recurrent Attentive Writer (Gregor et al. 2015), a plain ``nn.Module``.

Shapes: images ``(batch, C, B, A)`` (channels, height B, width A) with values in [0, 1], used
as Bernoulli targets; ``T`` = ``num_steps``. Equation numbers refer to the paper; the attention
(eqs. 19-29) is in ``attention.py``. Speed comes from ``torch.compile`` of the step
(``compile_step``), memory from recomputing steps in backward (``checkpoint_steps``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

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

__all__ = ["DRAW", "DRAWConfig", "DrawOutput", "DrawTrace", "kl_standard_normal", "nats_to_bits_per_dim"]

# Initial bias of the attention windows: the grid tiling the image, or the paper's zero bias.
WINDOW_INITS = ("tile", "paper")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


@dataclass
class DRAWConfig:
    """DRAW's options: the one place of their defaults and checks (Hydra's ``model.net`` node).

    Architecture: the paper's MNIST setting by default (table 3). ``read_n``/``write_n`` (the
    attention grid sizes N) are used only with ``read_attention``/``write_attention``.
    ``window_init``: ``tile`` starts each attention grid tiling the image
    (:func:`~draw_lightning.models.attention.tiled_window_bias`; without it MNIST and Quick, Draw!
    collapse to the data mean), ``paper`` the literal zero bias (README, deviations).
    How it runs (:attr:`RUNTIME_OPTIONS`, not part of what a checkpoint computes):
    ``compile_step`` runs each step through ``torch.compile`` with ``compile_mode``
    (``reduce-overhead``: CUDA graphs); ``checkpoint_steps`` recomputes each step in backward
    instead of keeping its activations (for large images or T).
    """

    num_steps: int = 64
    enc_hidden: int = 256
    dec_hidden: int = 256
    z_dim: int = 100
    read_attention: bool = True
    write_attention: bool = True
    read_n: int = 2
    write_n: int = 5
    window_init: str = "tile"
    compile_step: bool = False
    compile_mode: str = "default"
    checkpoint_steps: bool = False

    RUNTIME_OPTIONS: ClassVar[tuple[str, ...]] = ("compile_step", "compile_mode", "checkpoint_steps")

    def __post_init__(self) -> None:
        for name in ("num_steps", "enc_hidden", "dec_hidden", "z_dim", "read_n", "write_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"model.net.{name} must be >= 1, got {value!r}")
        for name, allowed in (("window_init", WINDOW_INITS), ("compile_mode", COMPILE_MODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"model.net.{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")


def kl_standard_normal(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) summed over the last dim (eq. 11).

    ``1/2 sum(mu^2 + sigma^2 - 2 log sigma) - z_dim/2``: the constant is per latent dimension.
    """
    return 0.5 * (mu.square() + torch.exp(2 * log_sigma) - 2 * log_sigma - 1).sum(-1)


def nats_to_bits_per_dim(nats: Tensor | float, num_dims: int) -> Tensor | float:
    """Convert nats per image to bits per dimension."""
    return nats / (num_dims * math.log(2))


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

    ``image_shape`` is ``(C, B, A)``; ``options`` are the fields of :class:`DRAWConfig`.
    """

    def __init__(self, *, image_shape: tuple[int, int, int], **options: Any) -> None:
        super().__init__()
        self.config = cfg = DRAWConfig(**options)
        channels, height, width = (int(s) for s in image_shape)
        if min(channels, height, width) < 1:
            raise ValueError(f"DRAW: image_shape must be (C, B, A) of integers >= 1, got {tuple(image_shape)}")
        self.image_shape = (channels, height, width)
        self._compiled_step = None  # built on first use; not copied or pickled
        pixels = channels * height * width

        read_size = 2 * channels * cfg.read_n**2 if cfg.read_attention else 2 * pixels
        # Registered in this order since the first release: optimiser states in checkpoints follow it.
        self.encoder = nn.LSTMCell(read_size + cfg.dec_hidden, cfg.enc_hidden)  # eq. 5
        self.decoder = nn.LSTMCell(cfg.z_dim, cfg.dec_hidden)  # eq. 7
        self.to_latent = nn.Linear(cfg.enc_hidden, 2 * cfg.z_dim)  # mu, log sigma of Q(Z_t | h^enc_t)
        self.read_window = nn.Linear(cfg.dec_hidden, 5) if cfg.read_attention else None  # eq. 21
        self.write_window = nn.Linear(cfg.dec_hidden, 5) if cfg.write_attention else None
        self.write_patch = nn.Linear(cfg.dec_hidden, channels * cfg.write_n**2 if cfg.write_attention else pixels)
        for window, n, write in ((self.read_window, cfg.read_n, False), (self.write_window, cfg.write_n, True)):
            if window is not None:
                with torch.no_grad():
                    tiled = cfg.window_init == "tile"
                    window.bias.copy_(tiled_window_bias(n=n, width=width, height=height, write=write) if tiled else 0)
        # Learned initial canvas c_0 and LSTM states [h; c] (paper, section 2).
        self.canvas0 = nn.Parameter(torch.zeros(channels, height, width))
        self.enc_state0 = nn.Parameter(torch.zeros(2, cfg.enc_hidden))
        self.dec_state0 = nn.Parameter(torch.zeros(2, cfg.dec_hidden))

    # The options callers read most, from the config (one source).
    num_steps = property(lambda self: self.config.num_steps)
    z_dim = property(lambda self: self.config.z_dim)
    read_n = property(lambda self: self.config.read_n)
    write_n = property(lambda self: self.config.write_n)
    read_attention = property(lambda self: self.config.read_attention)
    write_attention = property(lambda self: self.config.write_attention)

    def __getstate__(self) -> dict[str, Any]:
        return dict(super().__getstate__(), _compiled_step=None)

    # -- read and write (section 3) -----------------------------------------------------------

    def read(self, x: Tensor, x_hat: Tensor, h_dec: Tensor) -> tuple[Tensor, Tensor | None]:
        """r_t = read(x, x̂_t, h^dec_{t-1}): eq. 17 without attention, eq. 27 with; and the raw window."""
        batch = x.shape[0]
        if self.read_window is None:
            return torch.cat([x.reshape(batch, -1), x_hat.reshape(batch, -1)], dim=1), None
        raw = self.read_window(h_dec)
        window = attention_params(raw, width=self.image_shape[2], height=self.image_shape[1], n=self.read_n)
        fx, fy = filterbanks(window, n=self.read_n, width=self.image_shape[2], height=self.image_shape[1])
        # Each image read on its own: a joined [x, x̂] would be a copy of x kept for backward every step.
        glimpses = [read_attentive(image, fx, fy, window.intensity).reshape(batch, -1) for image in (x, x_hat)]
        return torch.cat(glimpses, dim=1), raw

    def write(self, h_dec: Tensor) -> tuple[Tensor, Tensor | None]:
        """write(h^dec_t): eq. 18 without attention, eq. 29 with; and the raw window."""
        c, height, width = self.image_shape
        patch = self.write_patch(h_dec)
        if self.write_window is None:
            return patch.view(-1, c, height, width), None
        raw = self.write_window(h_dec)
        window = attention_params(raw, width=width, height=height, n=self.write_n)
        fx, fy = filterbanks(window, n=self.write_n, width=width, height=height)
        return write_attentive(patch.view(-1, c, self.write_n, self.write_n), fx, fy, window.intensity), raw

    # -- one step of the network (section 2) -------------------------------------------------------

    def step(
        self, x: Tensor, canvas: Tensor, enc: tuple[Tensor, Tensor], dec: tuple[Tensor, Tensor], noise: Tensor
    ) -> tuple[Tensor, tuple[Tensor, Tensor], tuple[Tensor, Tensor], Tensor, Tensor | None, Tensor | None]:
        """Eqs. 3-8 for step t: (c_t, encoder state, decoder state, [mu_t, log sigma_t], raw windows)."""
        x_hat = x - torch.sigmoid(canvas)  # eq. 3
        r, read_raw = self.read(x, x_hat, dec[0])  # eq. 4
        enc = self.encoder(torch.cat([r, dec[0]], dim=1), enc)  # eq. 5
        latent = self.to_latent(enc[0])  # eqs. 1-2: Q(Z_t | h^enc_t) = N(mu_t, sigma_t)
        mu, log_sigma = latent.chunk(2, dim=1)
        z = mu + torch.exp(log_sigma) * noise  # eq. 6, reparameterised
        dec = self.decoder(z, dec)  # eq. 7
        delta, write_raw = self.write(dec[0])
        return canvas + delta, enc, dec, latent, read_raw, write_raw  # eq. 8

    def forward(self, x: Tensor, *, record: bool = False, generator: torch.Generator | None = None) -> DrawOutput:
        """Encode and reconstruct ``x`` ``(batch, C, B, A)`` in [0, 1]: the loss of eqs. 9-12."""
        self.check_images(x)
        batch = x.shape[0]
        noise = torch.randn(self.num_steps, batch, self.z_dim, generator=generator, device=x.device, dtype=x.dtype)
        canvas, enc, dec = self.initial_state(batch)
        step = self._step_function()
        latents, canvases, read_raws, write_raws = [], [], [], []
        for t in range(self.num_steps):
            canvas, enc, dec, latent, read_raw, write_raw = step(x, canvas, enc, dec, noise[t])
            latents.append(latent)
            if record:
                canvases.append(canvas.detach())
                read_raws.append(read_raw)
                write_raws.append(write_raw)

        mu, log_sigma = torch.stack(latents).chunk(2, dim=-1)  # (T, batch, z_dim)
        kl_per_step = kl_standard_normal(mu, log_sigma).t()  # eqs. 10-11
        z = mu + torch.exp(log_sigma) * noise
        log_ratio = (0.5 * noise.square() + log_sigma - 0.5 * z.square()).sum((0, 2))  # log p(z) - log q(z|x)
        # eq. 9: Bernoulli -log D(x | sigma(c_T)), summed over pixels and channels.
        rec_loss = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").flatten(1).sum(-1)
        trace = self._trace(canvases, read_raws, write_raws) if record else None
        return DrawOutput(
            rec_loss=rec_loss, kl_per_step=kl_per_step, log_weight=log_ratio - rec_loss, logits=canvas, trace=trace
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
        like = self.canvas0
        expected = (self.num_steps, num_samples, self.z_dim)
        if noise is None:
            noise = torch.randn(expected, generator=generator, device=like.device, dtype=like.dtype)
        if tuple(noise.shape) != expected:
            raise ValueError(f"generate: noise must have shape {expected}, got {tuple(noise.shape)}")
        canvas, _, dec = self.initial_state(num_samples)
        canvases, hidden, write_raws = [], [dec[0]], []
        for t in range(self.num_steps):
            dec = self.decoder(temperature * noise[t], dec)  # eq. 13, z_t from the prior
            delta, write_raw = self.write(dec[0])  # eq. 14
            canvas = canvas + delta  # eq. 15
            canvases.append(canvas)
            hidden.append(dec[0])
            write_raws.append(write_raw)
        # The reads each h^dec_{t-1} would make (nothing is read in generation), in one product.
        read_raws = [None] if self.read_window is None else list(self.read_window(torch.stack(hidden[:-1])))
        return self._trace(canvases, read_raws, write_raws)

    # -- helpers ---------------------------------------------------------------------------------

    def initial_state(self, batch: int) -> tuple[Tensor, tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """c_0 and the encoder's and decoder's (h_0, c_0), learned and shared by the batch."""
        canvas = self.canvas0.expand(batch, *self.image_shape)
        enc = tuple(s.expand(batch, -1) for s in self.enc_state0)
        dec = tuple(s.expand(batch, -1) for s in self.dec_state0)
        return canvas, enc, dec

    def _step_function(self):
        """:meth:`step` as run: eager, compiled, and/or recomputed in backward (see DRAWConfig)."""
        step = self.step
        if self.config.compile_step:
            if self._compiled_step is None:
                self._compiled_step = compiled_or_eager(step, device=self.canvas0.device, mode=self.config.compile_mode)
            step = self._compiled_step
        if self.config.checkpoint_steps and torch.is_grad_enabled():
            return lambda *args: checkpoint(step, *args, use_reentrant=False)
        return step

    def _trace(self, canvases: list[Tensor], read_raws: list, write_raws: list) -> DrawTrace:
        """A trace from per-step canvas logits and raw windows (``None`` entries: no attention)."""
        _, height, width = self.image_shape

        def windows(raws: list, n: int) -> AttentionParams | None:
            if raws[0] is None:
                return None
            return attention_params(torch.stack(raws).detach(), width=width, height=height, n=n)

        return DrawTrace(
            canvases=torch.sigmoid(torch.stack(canvases).detach()),
            read=windows(read_raws, self.read_n),
            write=windows(write_raws, self.write_n),
        )

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

    def extra_repr(self) -> str:
        c, h, w = self.image_shape
        read = f"attention {self.read_n}x{self.read_n}" if self.read_attention else "full image"
        write = f"attention {self.write_n}x{self.write_n}" if self.write_attention else "full image"
        return f"image=({c}, {h}, {w}), T={self.num_steps}, z_dim={self.z_dim}, read={read}, write={write}"
