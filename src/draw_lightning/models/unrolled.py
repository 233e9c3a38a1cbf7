"""DRAW's T steps as one autograd function with a hand-written backward (backprop through time).

Autograd would record ~1000 small operations per step and add each weight's gradient T times.
Here forward keeps, step by step, only what backward needs; backward runs the recurrence in
reverse computing only the gradients of the activations, and every weight gradient is one
product over all T x batch rows at the end, where a matrix product is fastest
(benchmarks/README.md). A step forward and a step backward are pure functions, so
``compile=True`` can hand each to ``torch.compile`` whole. Weights arrive fused (fused.py); the
equations are draw.py's, checked with gradcheck and against autograd in tests/models/test_unrolled.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from draw_lightning.models.attention import AttentionParams, attention_params, filterbanks
from draw_lightning.models.attention_backward import read_backward, write_backward
from draw_lightning.models.compile import compiled_or_eager
from draw_lightning.models.fused import FusedWeights, lstm_step

__all__ = ["UnrolledDims", "unrolled_draw"]

WINDOW = 5  # raw outputs of an attention window: g~_X, g~_Y, log sigma^2, log delta~, log gamma


class UnrolledDims(NamedTuple):
    """Static sizes of a DRAW; ``read_n``/``write_n`` = 0 read or write the whole image (eqs. 17-18)."""

    channels: int
    height: int
    width: int
    num_steps: int
    z_dim: int
    enc_hidden: int
    dec_hidden: int
    read_n: int
    write_n: int

    @property
    def pixels(self) -> int:
        return self.channels * self.height * self.width

    @property
    def patch_size(self) -> int:
        return self.channels * self.write_n**2 if self.write_n else self.pixels

    @property
    def heads(self) -> int:
        """Columns of the h^dec heads: [write patch, write window?, read window?]."""
        return self.patch_size + (WINDOW if self.write_n else 0) + (WINDOW if self.read_n else 0)

    @property
    def read_size(self) -> int:
        return 2 * self.channels * self.read_n**2 if self.read_n else 2 * self.pixels


class Kept(NamedTuple):
    """What a step keeps for backward, besides its attention's filterbanks and products."""

    sig: Tensor  # sigma(c_{t-1})
    reads: Tensor  # r_t, the encoder's input
    act_enc: Tensor  # encoder gate activations
    tanh_enc: Tensor  # tanh(c^enc_t)
    h_enc: Tensor
    act_dec: Tensor
    tanh_dec: Tensor
    h_dec: Tensor
    z: Tensor
    latent: Tensor  # [mu, log sigma]


def _lstm_grad(d_h: Tensor, d_cell: Tensor, act: Tensor, cell_prev: Tensor, tanh_c: Tensor) -> tuple[Tensor, Tensor]:
    """(dL/dgates (pre-activations, g doubled), dL/dcell_prev) of :func:`fused.lstm_step`."""
    i, f, g, o = act.chunk(4, dim=1)
    d_c = torch.addcmul(d_cell, d_h * o, 1 - tanh_c.square())
    d_act = torch.cat([d_c * (g * 2 - 1), d_c * cell_prev, d_c * i * 2, d_h * tanh_c], dim=1)
    return d_act * (act * (1 - act)), d_c * f


def forward_step(
    d: UnrolledDims,
    last: bool,
    x: Tensor,
    canvas: Tensor,
    c_enc: Tensor,
    c_dec: Tensor,
    enc_pre: Tensor,
    dec_rec: Tensor,
    read_raw: Tensor,
    noise: Tensor,
    w: FusedWeights,
) -> tuple[tuple[Tensor | None, ...], Kept, tuple[Tensor, ...]]:
    """One step, eqs. 3-8: (the next step's inputs, what backward keeps, and what it keeps of the
    attention: read ``(params, F_X, F_Y, x F_X^T)``, write ``(raw, params, F_X, F_Y, q, q F_X)``).

    ``enc_pre``/``dec_rec``: the encoder's/decoder's gate inputs from the previous hidden states
    (biases included), ``read_raw`` the read window from h^dec_{t-1}. On the last step the
    products only the next step would read are skipped and returned as None.
    """
    batch, ch, z2 = x.shape[0], d.channels, 2 * d.z_dim
    heads, rows = d.heads, d.heads + 4 * d.dec_hidden  # dec_w rows: [heads, decoder recurrence, encoder]
    sig = torch.sigmoid(canvas)
    images = torch.cat([x, x - sig], dim=1)  # [x, x̂] (eq. 3), read together
    read_kept: tuple[Tensor, ...] = ()
    if d.read_n:  # eq. 27
        params = attention_params(read_raw, width=d.width, height=d.height, n=d.read_n)
        fx, fy = filterbanks(params, n=d.read_n, width=d.width, height=d.height)
        images_fx = images @ fx[:, None].transpose(-1, -2)
        reads = ((fy[:, None] @ images_fx) * params.intensity[:, None, None, None]).reshape(batch, -1)
        read_kept = (torch.stack(params.as_tuple(), dim=1), fx, fy, images_fx)
    else:  # eq. 17
        reads = images.reshape(batch, -1)
    act_enc, c_enc, tanh_enc, h_enc = lstm_step(torch.addmm(enc_pre, reads, w.enc_read_w.t()), c_enc)  # eq. 5
    if last:
        latent = torch.addmm(w.enc_b[:z2], h_enc, w.enc_w[:z2].t())
    else:
        enc_out = torch.addmm(w.enc_b, h_enc, w.enc_w.t())
        # Copies, not views, of what is kept or carried: a view would keep the whole product.
        latent, enc_rec = enc_out[:, :z2].contiguous(), enc_out[:, z2:]
    mu, log_sigma = latent.chunk(2, dim=1)
    z = torch.addcmul(mu, log_sigma.exp(), noise)  # eq. 6
    act_dec, c_dec, tanh_dec, h_dec = lstm_step(torch.addmm(dec_rec, z, w.dec_z_w.t()), c_dec)  # eq. 7
    if last:
        dec_out = torch.addmm(w.dec_b[:heads], h_dec, w.dec_w[:heads].t())
        enc_pre = dec_rec = read_raw = None
    else:
        # Two products, not one: a weight block past ~1 MB (L2) multiplies more slowly on CPU.
        dec_out = torch.addmm(w.dec_b[:rows], h_dec, w.dec_w[:rows].t())
        enc_pre = torch.addmm(enc_rec, h_dec, w.dec_w[rows:].t())  # both biases are in enc_rec
        dec_rec, read_raw = dec_out[:, heads:], dec_out[:, heads - WINDOW : heads].contiguous()
    patch = dec_out[:, : d.patch_size]
    write_kept: tuple[Tensor, ...] = ()
    if d.write_n:  # eq. 29
        write_raw = dec_out[:, d.patch_size : d.patch_size + WINDOW].contiguous()
        params = attention_params(write_raw, width=d.width, height=d.height, n=d.write_n)
        fx, fy = filterbanks(params, n=d.write_n, width=d.width, height=d.height)
        scaled = patch.reshape(batch, ch, d.write_n, d.write_n) / params.intensity[:, None, None, None]
        scaled_fx = scaled @ fx[:, None]
        canvas = canvas + fy[:, None].transpose(-1, -2) @ scaled_fx  # eq. 8
        write_kept = (write_raw, torch.stack(params.as_tuple(), dim=1), fx, fy, scaled, scaled_fx)
    else:  # eq. 18
        canvas = canvas + patch.reshape(batch, ch, d.height, d.width)
    carry = (canvas, c_enc, c_dec, enc_pre, dec_rec, read_raw)
    kept = Kept(sig, reads, act_enc, tanh_enc, h_enc, act_dec, tanh_dec, h_dec, z, latent)
    return carry, kept, (*read_kept, *write_kept)


def backward_step(
    d: UnrolledDims,
    last: bool,
    x: Tensor,
    d_canvas: Tensor,
    d_c_enc: Tensor,
    d_c_dec: Tensor,
    d_next: tuple[Tensor, Tensor, Tensor] | None,
    d_latent: Tensor,
    noise: Tensor,
    c_enc_prev: Tensor,
    c_dec_prev: Tensor,
    read_raw: Tensor,
    kept: Kept,
    attention_kept: tuple[Tensor, ...],
    w: FusedWeights,
) -> tuple[Tensor, ...]:
    """One step of :func:`forward_step` in reverse.

    ``d_next``: dL/d of the next step's inputs that came from this step's h^dec: (read window,
    decoder gates, encoder gates); None on the last step. Returns (dL/dcanvas_{t-1},
    dL/dc^enc_{t-1}, dL/dc^dec_{t-1}, this step's (read window, decoder gates, encoder gates)
    gradients, dL/d heads of this step, dL/d latent). The read window's gradient is empty
    without read attention.
    """
    batch, ch, z = x.shape[0], d.channels, d.z_dim
    sig, reads, act_enc, tanh_enc, _, act_dec, tanh_dec, _, _, latent = kept
    read_kept = attention_kept[:4] if d.read_n else ()
    write_kept = attention_kept[len(read_kept) :]
    if d.write_n:
        write_raw, params, fx, fy, scaled, scaled_fx = write_kept
        params = AttentionParams(*params.unbind(1))
        d_patch, d_write_raw = write_backward(d_canvas, scaled, scaled_fx, fx, fy, write_raw, params, n=d.write_n)
        d_heads = [d_patch.reshape(batch, -1), d_write_raw]
    else:
        d_heads = [d_canvas.reshape(batch, -1)]
    d_heads = torch.cat(d_heads + ([d_next[0]] if d.read_n and not last else []), dim=1)
    if last and d.read_n:  # the last h^dec's read window is never used
        d_heads = torch.cat([d_heads, d_heads.new_zeros(batch, WINDOW)], dim=1)
    d_dec_out = d_heads if last else torch.cat([d_heads, d_next[1], d_next[2]], dim=1)
    d_h = d_dec_out @ w.dec_w[: d_dec_out.shape[1]]
    d_gates_dec, d_c_dec = _lstm_grad(d_h, d_c_dec, act_dec, c_dec_prev, tanh_dec)
    d_z = d_gates_dec @ w.dec_z_w
    mu, log_sigma = latent.chunk(2, dim=1)
    d_latent = d_latent + torch.cat([d_z, d_z * log_sigma.exp() * noise], dim=1)
    cols = 2 * z + (0 if last else 4 * d.enc_hidden)
    d_enc_out = d_latent if last else torch.cat([d_latent, d_next[2]], dim=1)
    d_h = d_enc_out @ w.enc_w[:cols]
    d_gates_enc, d_c_enc = _lstm_grad(d_h, d_c_enc, act_enc, c_enc_prev, tanh_enc)
    d_reads = d_gates_enc @ w.enc_read_w
    if d.read_n:
        params, fx, fy, images_fx = read_kept
        params = AttentionParams(*params.unbind(1))
        images = torch.cat([x, x - sig], dim=1)  # recomputed: cheaper than keeping 2C images a step
        patches = reads.view(batch, 2 * ch, d.read_n, d.read_n)
        d_read_raw, d_x_hat = read_backward(
            d_reads.view_as(patches), images, images_fx, patches, fx, fy, read_raw, params,
            n=d.read_n, grad_images_from=ch,
        )  # fmt: skip
    else:
        d_x_hat = d_reads[:, d.pixels :].view_as(x)
        d_read_raw = d_reads.new_empty(batch, 0)
    d_canvas = torch.addcmul(d_canvas, d_x_hat, sig * (sig - 1))  # x̂ = x - sigmoid(c_{t-1})
    return d_canvas, d_c_enc, d_c_dec, (d_read_raw, d_gates_dec, d_gates_enc), d_heads, d_latent


_COMPILED: dict[str, tuple[Callable, Callable]] = {}


def _step_functions(compile: bool, device: torch.device) -> tuple[Callable, Callable]:
    if not compile:
        return forward_step, backward_step
    if device.type not in _COMPILED:
        _COMPILED[device.type] = (
            compiled_or_eager(forward_step, device=device),
            compiled_or_eager(backward_step, device=device),
        )
    return _COMPILED[device.type]


class _UnrolledDraw(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        dims: UnrolledDims,
        keep: bool,
        record: bool,
        compile: bool,
        x: Tensor,
        noise: Tensor,
        canvas0: Tensor,
        enc_state0: Tensor,
        dec_state0: Tensor,
        *weights: Tensor,
    ) -> tuple[Tensor, ...]:
        d, w = dims, FusedWeights(*weights)
        batch, z2, heads = x.shape[0], 2 * dims.z_dim, dims.heads
        rows = heads + 4 * d.dec_hidden
        step, _ = _step_functions(compile, x.device)
        # The initial states are shared by the batch: their products are one row, broadcast.
        dec_out = torch.addmm(w.dec_b, dec_state0[:1], w.dec_w.t())
        enc_pre = torch.addmm(w.enc_b[z2:], enc_state0[:1], w.enc_w[z2:].t()) + dec_out[:, rows:]
        # Both products into the encoder's gates carry a bias: added once, with h^enc's.
        w = w._replace(enc_b=torch.cat([w.enc_b[:z2], w.enc_b[z2:] + w.dec_b[rows:]]))
        carry = (
            canvas0.expand(batch, *canvas0.shape).contiguous(),
            enc_state0[1].expand(batch, -1).contiguous(),
            dec_state0[1].expand(batch, -1).contiguous(),
            enc_pre.expand(batch, -1).contiguous(),
            dec_out[:, heads:rows].expand(batch, -1).contiguous(),
            dec_out[:, heads - WINDOW : heads].expand(batch, -1).contiguous(),
        )
        kept, cells, read_raws, write_raws, canvases, latents = [], [carry[1:3]], [], [], [], []
        for t in range(d.num_steps):
            read_raws.append(carry[5])
            carry, step_kept, attention_kept = step(d, t == d.num_steps - 1, x, *carry, noise[t], w)
            latents.append(step_kept.latent)
            if keep:
                kept.extend((*step_kept, *attention_kept))
                cells.append(carry[1:3])
            if record:
                canvases.append(carry[0])
                write_raws.append(attention_kept[-6] if d.write_n else None)
        ctx.dims, ctx.compile, ctx.kept_per_step = dims, compile, len(step_kept) + len(attention_kept)
        if keep:  # through save_for_backward, so saved-tensor hooks see (and may offload) all of it
            ctx.save_for_backward(
                x, noise, enc_state0, dec_state0, *weights, *(c for pair in cells for c in pair), *read_raws, *kept
            )
        empty = noise.new_empty(0)
        trace = (
            (torch.stack(canvases), torch.stack(read_raws), torch.stack(write_raws) if d.write_n else empty)
            if record
            else (empty, empty, empty)
        )
        ctx.mark_non_differentiable(*trace)
        return carry[0], torch.stack(latents), *trace

    @staticmethod
    def backward(ctx: Any, d_logits: Tensor | None, d_latents: Tensor | None, *_: Any) -> tuple[Tensor | None, ...]:
        d = ctx.dims
        steps = d.num_steps
        if not ctx.saved_tensors:
            raise RuntimeError("unrolled DRAW: forward ran without keeping activations for backward")
        x, noise, enc_state0, dec_state0, *rest = ctx.saved_tensors
        w, rest = FusedWeights(*rest[:6]), rest[6:]
        cells = [rest[2 * s : 2 * s + 2] for s in range(steps + 1)]
        read_raws, rest = rest[2 * steps + 2 : 3 * steps + 2], rest[3 * steps + 2 :]
        size = ctx.kept_per_step
        per_step = [rest[size * t : size * (t + 1)] for t in range(steps)]
        cores = len(Kept._fields)
        kept, attention_kept = [Kept(*k[:cores]) for k in per_step], [tuple(k[cores:]) for k in per_step]
        batch, z2 = x.shape[0], 2 * d.z_dim
        _, step_back = _step_functions(ctx.compile, x.device)
        d_canvas = torch.zeros_like(x) if d_logits is None else d_logits.contiguous()
        if d_latents is None:
            d_latents = noise.new_zeros(steps, batch, z2)
        d_c_enc, d_c_dec = x.new_zeros(batch, d.enc_hidden), x.new_zeros(batch, d.dec_hidden)
        d_next = None
        grads = FusedWeights(*(torch.zeros_like(t) for t in w))
        chunk_steps, pending = max(1, ROWS_PER_PRODUCT // batch), []
        h_enc0, h_dec0 = enc_state0[0].expand(batch, -1), dec_state0[0].expand(batch, -1)
        for t in reversed(range(steps)):
            c_enc_prev, c_dec_prev = cells[t]
            d_canvas, d_c_enc, d_c_dec, d_next, d_head, d_latent = step_back(
                d, t == steps - 1, x, d_canvas, d_c_enc, d_c_dec, d_next, d_latents[t], noise[t],
                c_enc_prev, c_dec_prev, read_raws[t], kept[t], attention_kept[t], w,
            )  # fmt: skip
            pending.append((t, d_next, d_head, d_latent))
            if len(pending) == chunk_steps or t == 0:
                _add_weight_grads(grads, pending, kept, h_enc0, h_dec0, d)
                pending = []
        # The initial states' products were one row broadcast over the batch; d_next is step 0's.
        d_first = [g.sum(0) for g in d_next]
        d_enc_state0 = torch.stack([d_first[2] @ w.enc_w[2 * d.z_dim :], d_c_enc.sum(0)])
        d_dec_out0 = torch.cat([x.new_zeros(d.heads - d_first[0].shape[0]), *d_first])
        d_dec_state0 = torch.stack([d_dec_out0 @ w.dec_w, d_c_dec.sum(0)])
        return (
            None, None, None, None, None, None, d_canvas.sum(0), d_enc_state0, d_dec_state0,
            *grads,
        )  # fmt: skip


# Weight gradients are accumulated over chunks of steps with about this many rows: products this
# large run at full speed, and each stacked chunk stays under glibc's 32 MB mmap bound, so its
# memory is reused rather than faulted in anew (benchmarks/README.md).
ROWS_PER_PRODUCT = 4096


def _add_weight_grads(
    grads: FusedWeights, chunk: list[tuple], kept: list[Kept], h_enc0: Tensor, h_dec0: Tensor, d: UnrolledDims
) -> None:
    """Add the weight gradients of a chunk of steps ``(t, d_next, d_heads, d_latent)``, one product per block.

    Rows of dec_w: [patch, write window, read window, decoder gates, encoder gates]; the read
    window and the gates of step t are products of h^dec_{t-1}, the patch and write window of h^dec_t.
    """
    heads, read_cols, z2 = d.heads, (WINDOW if d.read_n else 0), 2 * d.z_dim
    gates_dec = heads + 4 * d.dec_hidden
    steps = [t for t, *_ in chunk]
    d_read, d_gates_dec, d_gates_enc = (torch.cat(parts) for parts in zip(*(c[1] for c in chunk), strict=True))
    d_heads = torch.cat([c[2][:, : heads - read_cols] for c in chunk])
    d_latent = torch.cat([c[3] for c in chunk])
    h_enc = torch.cat([kept[t].h_enc for t in steps])
    h_dec = torch.cat([kept[t].h_dec for t in steps])
    h_enc_prev = torch.cat([kept[t - 1].h_enc if t else h_enc0 for t in steps])
    h_dec_prev = torch.cat([kept[t - 1].h_dec if t else h_dec0 for t in steps])
    blocks = (
        (grads.dec_w[: heads - read_cols], grads.dec_b[: heads - read_cols], d_heads, h_dec),
        (grads.dec_w[heads - read_cols : heads], grads.dec_b[heads - read_cols : heads], d_read, h_dec_prev),
        (grads.dec_w[heads:gates_dec], grads.dec_b[heads:gates_dec], d_gates_dec, h_dec_prev),
        (grads.dec_w[gates_dec:], grads.dec_b[gates_dec:], d_gates_enc, h_dec_prev),
        (grads.enc_w[:z2], grads.enc_b[:z2], d_latent, h_enc),
        (grads.enc_w[z2:], grads.enc_b[z2:], d_gates_enc, h_enc_prev),
        (grads.dec_z_w, None, d_gates_dec, torch.cat([kept[t].z for t in steps])),
        (grads.enc_read_w, None, d_gates_enc, torch.cat([kept[t].reads for t in steps])),
    )
    for weight, bias, grad_out, inputs in blocks:
        weight.addmm_(grad_out.t(), inputs)
        if bias is not None:
            bias.add_(grad_out.sum(0))


def unrolled_draw(
    dims: UnrolledDims,
    x: Tensor,
    noise: Tensor,
    *,
    canvas0: Tensor,
    enc_state0: Tensor,
    dec_state0: Tensor,
    weights: tuple[Tensor, ...],
    record: bool = False,
    compile: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Run T steps of DRAW: (final canvas logits c_T, latents ``(T, batch, 2 z_dim)`` [mu, log sigma],
    and for ``record``: canvas logits c_1..c_T, raw read and write windows ``(T, batch, 5)``).

    ``weights``: a ``fused.FusedWeights``. ``compile``: each step's forward and backward through
    ``torch.compile`` (eager with a warning where no compiler is found).
    """
    tensors = (canvas0, enc_state0, dec_state0, *weights)
    keep = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    return _UnrolledDraw.apply(dims, keep, record, compile, x, noise, *tensors)
