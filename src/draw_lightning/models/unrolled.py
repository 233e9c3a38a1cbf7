"""DRAW's T steps as one autograd function with a hand-written backward (backprop through time).

Autograd would record ~1000 small operations per step and add each weight's gradient T times.
Here forward writes what backward needs into preallocated ``(T, batch, ...)`` buffers; backward
runs the recurrence in reverse computing only the gradients of the activations, and every
weight gradient is one product over all T x batch rows at the end, where a matrix product is
fastest (benchmarks/README.md). Weights arrive fused (fused.py); the equations are draw.py's,
checked against it and with gradcheck in tests/models/test_unrolled.py.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from draw_lightning.models.attention import attention_params, filterbanks
from draw_lightning.models.attention_backward import read_backward, write_backward

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


def _lstm_forward(gates: Tensor, cell: Tensor, act: Tensor, cell_out: Tensor, tanh_out: Tensor, h_out: Tensor) -> None:
    """LSTM update from pre-activations ``[i, f, 2g, o]`` (g doubled, see fused.lstm_update), into buffers."""
    torch.sigmoid(gates, out=act)
    i, f, g, o = act.chunk(4, dim=1)
    torch.addcmul(f * cell, i, g * 2 - 1, out=cell_out)
    torch.sigmoid(cell_out * 2, out=tanh_out)
    tanh_out.mul_(2).sub_(1)  # tanh(c) = 2 sigmoid(2c) - 1
    torch.mul(o, tanh_out, out=h_out)


def _lstm_backward(
    d_h: Tensor, d_cell: Tensor, act: Tensor, cell_prev: Tensor, tanh_c: Tensor, d_gates: Tensor
) -> Tensor:
    """Writes dL/dgates (pre-activations, g doubled) into ``d_gates``; returns dL/dcell_prev."""
    i, f, g, o = act.chunk(4, dim=1)
    d_c = torch.addcmul(d_cell, d_h * o, 1 - tanh_c.square())
    # Computed contiguous and copied once: element-wise ``out=`` into a strided slice is slow.
    d_act = torch.cat([d_c * (g * 2 - 1), d_c * cell_prev, d_c * i * 2, d_h * tanh_c], dim=1)
    d_gates.copy_(d_act.mul_(act * (1 - act)))  # through the sigmoids
    return d_c * f


class _UnrolledDraw(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        dims: UnrolledDims,
        keep: bool,
        record: bool,
        x: Tensor,
        noise: Tensor,
        canvas0: Tensor,
        enc_state0: Tensor,
        dec_state0: Tensor,
        enc_read_w: Tensor,
        enc_w: Tensor,
        enc_b: Tensor,
        dec_z_w: Tensor,
        dec_w: Tensor,
        dec_b: Tensor,
    ) -> tuple[Tensor, ...]:
        d = dims
        steps, batch, ch, z2 = d.num_steps, x.shape[0], d.channels, 2 * d.z_dim
        he, hd, heads = d.enc_hidden, d.dec_hidden, d.heads
        rows = heads + 4 * hd  # dec_w rows: [heads, decoder recurrence, encoder's h^dec input]
        new = x.new_empty
        # Per-step buffers hold T entries when backward needs them, else one (or two, rolling).
        n_step = steps if keep else 1
        n_state = steps + 1 if keep else 2

        def slot(t: int) -> int:
            return t if keep else 0

        def state(s: int) -> int:
            return s if keep else s % 2

        sig, reads = new(n_step, batch, ch, d.height, d.width), new(n_step, batch, d.read_size)
        act_enc, tanh_enc, h_enc, c_enc = (
            new(n_step, batch, 4 * he),
            new(n_step, batch, he),
            *new(2, n_state, batch, he),
        )
        act_dec, tanh_dec, h_dec, c_dec = (
            new(n_step, batch, 4 * hd),
            new(n_step, batch, hd),
            *new(2, n_state, batch, hd),
        )
        zs, latents = new(n_step, batch, d.z_dim), new(steps, batch, z2)
        read_raws, write_raws = new(steps, batch, WINDOW), new(steps, batch, WINDOW)
        canvases = new(steps, batch, ch, d.height, d.width) if record else new(0)
        saved_read: list[Tensor] = []  # per step: F_X, F_Y, x F_X^T
        saved_write: list[Tensor] = []  # per step: F_X, F_Y, q, q F_X

        images = new(batch, 2 * ch, d.height, d.width)  # [x, x̂], read together (eq. 27)
        images[:, :ch] = x
        canvas = canvas0.expand(batch, *canvas0.shape).clone()
        h_enc[0], c_enc[0], h_dec[0], c_dec[0] = enc_state0[0], enc_state0[1], dec_state0[0], dec_state0[1]
        # The initial states are shared by the batch: their products are one row, broadcast.
        dec_out = torch.addmm(dec_b, dec_state0[:1], dec_w.t())
        read_raw = dec_out[:, heads - WINDOW : heads].expand(batch, -1)
        dec_rec = dec_out[:, heads:rows]
        enc_pre = torch.addmm(enc_b[z2:], enc_state0[:1], enc_w[z2:].t()) + dec_out[:, rows:]

        for t in range(steps):
            last = t == steps - 1
            s_now, s_prev = state(t + 1), state(t)
            torch.sigmoid(canvas, out=sig[slot(t)])
            torch.sub(x, sig[slot(t)], out=images[:, ch:])  # eq. 3
            if d.read_n:  # eq. 27
                read_raws[t] = read_raw
                params = attention_params(read_raws[t], width=d.width, height=d.height, n=d.read_n)
                fx, fy = filterbanks(params, n=d.read_n, width=d.width, height=d.height)
                images_fx = images @ fx[:, None].transpose(-1, -2)
                torch.mul(
                    fy[:, None] @ images_fx,
                    params.intensity[:, None, None, None],
                    out=reads[slot(t)].view(batch, 2 * ch, d.read_n, d.read_n),
                )
                if keep:
                    saved_read += [fx, fy, images_fx]
            else:  # eq. 17
                reads[slot(t)] = images.view(batch, -1)
            gates = torch.addmm(enc_pre, reads[slot(t)], enc_read_w.t())  # eq. 5
            _lstm_forward(gates, c_enc[s_prev], act_enc[slot(t)], c_enc[s_now], tanh_enc[slot(t)], h_enc[s_now])
            if last:
                torch.addmm(enc_b[:z2], h_enc[s_now], enc_w[:z2].t(), out=latents[t])
            else:
                enc_out = torch.addmm(enc_b, h_enc[s_now], enc_w.t())
                latents[t], enc_rec = enc_out[:, :z2], enc_out[:, z2:]
            mu, log_sigma = latents[t].chunk(2, dim=1)
            torch.addcmul(mu, log_sigma.exp(), noise[t], out=zs[slot(t)])  # eq. 6
            gates = torch.addmm(dec_rec, zs[slot(t)], dec_z_w.t())  # eq. 7
            _lstm_forward(gates, c_dec[s_prev], act_dec[slot(t)], c_dec[s_now], tanh_dec[slot(t)], h_dec[s_now])
            if last:
                dec_out = torch.addmm(dec_b[:heads], h_dec[s_now], dec_w[:heads].t())
            else:
                # Two products, not one: a weight block past ~1 MB (L2) multiplies more slowly on CPU.
                dec_out = torch.addmm(dec_b[:rows], h_dec[s_now], dec_w[:rows].t())
                enc_pre = torch.addmm(dec_b[rows:], h_dec[s_now], dec_w[rows:].t()).add_(enc_rec)
                dec_rec, read_raw = dec_out[:, heads:], dec_out[:, heads - WINDOW : heads]
            patch = dec_out[:, : d.patch_size]
            if d.write_n:  # eq. 29
                write_raws[t] = dec_out[:, d.patch_size : d.patch_size + WINDOW]
                params = attention_params(write_raws[t], width=d.width, height=d.height, n=d.write_n)
                fx, fy = filterbanks(params, n=d.write_n, width=d.width, height=d.height)
                scaled = patch.reshape(batch, ch, d.write_n, d.write_n) / params.intensity[:, None, None, None]
                scaled_fx = scaled @ fx[:, None]
                canvas.add_(fy[:, None].transpose(-1, -2) @ scaled_fx)  # eq. 8
                if keep:
                    saved_write += [fx, fy, scaled, scaled_fx]
            else:  # eq. 18
                canvas.add_(patch.view(batch, ch, d.height, d.width))
            if record:
                canvases[t] = canvas

        ctx.dims, ctx.keep = dims, keep
        if keep:
            ctx.save_for_backward(
                x, noise, enc_read_w, enc_w, dec_z_w, dec_w, sig, reads, act_enc, tanh_enc, h_enc, c_enc,
                act_dec, tanh_dec, h_dec, c_dec, zs, latents, read_raws, write_raws, *saved_read, *saved_write,
            )  # fmt: skip
        ctx.mark_non_differentiable(canvases, read_raws, write_raws)
        return canvas, latents, canvases, read_raws, write_raws

    @staticmethod
    def backward(ctx: Any, d_logits: Tensor | None, d_latents: Tensor | None, *_: Any) -> tuple[Tensor | None, ...]:
        if not ctx.keep:
            raise RuntimeError("unrolled DRAW: forward ran without keeping activations (keep=False)")
        d = ctx.dims
        (x, noise, enc_read_w, enc_w, dec_z_w, dec_w, sig, reads, act_enc, tanh_enc, h_enc, c_enc,
         act_dec, tanh_dec, h_dec, c_dec, zs, latents, read_raws, write_raws, *saved) = ctx.saved_tensors  # fmt: skip
        steps, batch, ch, z, z2 = d.num_steps, x.shape[0], d.channels, d.z_dim, 2 * d.z_dim
        he, hd, heads = d.enc_hidden, d.dec_hidden, d.heads
        rows = heads + 4 * hd
        saved_read = [saved[i : i + 3] for i in range(0, 3 * steps if d.read_n else 0, 3)]
        saved_write = saved[3 * steps if d.read_n else 0 :]
        saved_write = [saved_write[i : i + 4] for i in range(0, len(saved_write), 4)]

        d_canvas = torch.zeros_like(x) if d_logits is None else d_logits.clone()
        if d_latents is None:
            d_latents = torch.zeros_like(latents)
        # Gradients of every product's output, (T + 1, batch, rows): index s is the product of
        # the state after step s (0 = initial state). Columns as in fused.FusedWeights.
        d_dec_out = x.new_empty(steps + 1, batch, dec_w.shape[0])
        d_enc_out = x.new_empty(steps + 1, batch, enc_w.shape[0])
        # Every step fills its own columns; zero only what no step writes: the initial state
        # wrote nothing, the final one fed no recurrence and no read.
        d_dec_out[0, :, : heads - (WINDOW if d.read_n else 0)] = 0
        d_dec_out[steps, :, heads - (WINDOW if d.read_n else 0) :] = 0
        d_enc_out[0, :, :z2] = 0
        d_enc_out[steps, :, z2:] = 0
        d_c_enc, d_c_dec = x.new_zeros(batch, he), x.new_zeros(batch, hd)
        images = x.new_empty(batch, 2 * ch, d.height, d.width)
        images[:, :ch] = x

        for t in reversed(range(steps)):
            s, last = t + 1, t == steps - 1
            if d.write_n:
                fx, fy, scaled, scaled_fx = saved_write[t]
                params = attention_params(write_raws[t], width=d.width, height=d.height, n=d.write_n)
                d_patch, d_raw = write_backward(d_canvas, scaled, scaled_fx, fx, fy, write_raws[t], params, n=d.write_n)
                d_dec_out[s, :, : d.patch_size] = d_patch.view(batch, -1)
                d_dec_out[s, :, d.patch_size : d.patch_size + WINDOW] = d_raw
            else:
                d_dec_out[s, :, : d.patch_size] = d_canvas.view(batch, -1)
            cols = heads if last else dec_w.shape[0]
            d_h = d_dec_out[s, :, :cols] @ dec_w[:cols]
            d_gates_dec = d_dec_out[t, :, heads:rows]
            d_c_dec = _lstm_backward(d_h, d_c_dec, act_dec[t], c_dec[t], tanh_dec[t], d_gates_dec)
            d_z = d_gates_dec @ dec_z_w
            mu, log_sigma = latents[t].chunk(2, dim=1)
            torch.add(d_z, d_latents[t, :, :z], out=d_enc_out[s, :, :z])
            torch.addcmul(d_latents[t, :, z:], d_z, log_sigma.exp() * noise[t], out=d_enc_out[s, :, z:z2])
            cols = z2 if last else enc_w.shape[0]
            d_h = d_enc_out[s, :, :cols] @ enc_w[:cols]
            d_gates_enc = d_dec_out[t, :, rows:]
            d_c_enc = _lstm_backward(d_h, d_c_enc, act_enc[t], c_enc[t], tanh_enc[t], d_gates_enc)
            d_enc_out[t, :, z2:] = d_gates_enc
            d_read = (enc_read_w.t() @ d_gates_enc.t()).t()  # this order: 4x faster for a strided slice
            if d.read_n:
                torch.sub(x, sig[t], out=images[:, ch:])
                fx, fy, images_fx = saved_read[t]
                params = attention_params(read_raws[t], width=d.width, height=d.height, n=d.read_n)
                patches = reads[t].view(batch, 2 * ch, d.read_n, d.read_n)
                d_raw, d_x_hat = read_backward(
                    d_read.view_as(patches), images, images_fx, patches, fx, fy, read_raws[t], params,
                    n=d.read_n, grad_images_from=ch,
                )  # fmt: skip
                d_dec_out[t, :, heads - WINDOW : heads] = d_raw
            else:
                d_x_hat = d_read[:, d.pixels :].view_as(x)
            d_canvas.addcmul_(d_x_hat, sig[t] * (sig[t] - 1))  # x̂ = x - sigmoid(c_{t-1})

        # Every weight's gradient in one product over all steps and images.
        flat = (steps + 1) * batch
        d_dec_w = d_dec_out.view(flat, -1).t() @ h_dec.view(flat, hd)
        d_enc_w = d_enc_out.view(flat, -1).t() @ h_enc.view(flat, he)
        d_gates = d_dec_out[:steps].view(steps * batch, -1)
        # (input^T d_gates)^T: on a strided slice of d_gates, ~10x faster than d_gates^T input.
        d_dec_z_w = (zs.view(steps * batch, z).t() @ d_gates[:, heads:rows]).t()
        d_enc_read_w = (reads.view(steps * batch, -1).t() @ d_gates[:, rows:]).t()
        d_enc_state0 = torch.stack([d_enc_out[0, :, z2:].sum(0) @ enc_w[z2:], d_c_enc.sum(0)])
        d_dec_state0 = torch.stack([d_dec_out[0].sum(0) @ dec_w, d_c_dec.sum(0)])
        return (
            None, None, None, None, None, d_canvas.sum(0), d_enc_state0, d_dec_state0,
            d_enc_read_w, d_enc_w, d_enc_out.sum((0, 1)), d_dec_z_w, d_dec_w, d_dec_out.sum((0, 1)),
        )  # fmt: skip


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
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Run T steps of DRAW: (final canvas logits c_T, latents ``(T, batch, 2 z_dim)`` [mu, log sigma],
    and for ``record``: canvases c_1..c_T, raw read and write windows ``(T, batch, 5)``).

    ``weights``: a ``fused.FusedWeights``. Activations are kept for backward only when autograd
    needs them; under ``torch.no_grad`` the buffers hold one step.
    """
    tensors = (canvas0, enc_state0, dec_state0, *weights)
    keep = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    return _UnrolledDraw.apply(dims, keep, record, x, noise, *tensors)
