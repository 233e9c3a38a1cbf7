"""DRAW's per-step linear maps folded into one product per input, and a cheap LSTM update.

Every map of h^dec (write patch, write window, next read window, the decoder's own recurrence
and the encoder's h^dec input) becomes one ``(batch, Hd) x (Hd, ...)`` product; likewise every
map of h^enc (mu, log sigma and the encoder's recurrence). The weights are concatenated from
the model's own parameters on each forward, so gradients reach them unchanged.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

__all__ = ["FusedWeights", "fuse_weights", "lstm_step", "lstm_update", "sigmoid_tanh"]


def sigmoid_tanh(x: Tensor) -> Tensor:
    """``tanh(x)`` as ``2 sigmoid(2x) - 1``: the same function, several times faster on CPU."""
    return torch.sigmoid(2 * x) * 2 - 1


def lstm_step(gates: Tensor, cell: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One LSTM update from pre-activations ``[i, f, 2 g, o]`` ``(batch, 4H)`` (g pre-doubled).

    With g doubled, one sigmoid over all four blocks gives tanh(g) = 2 sigmoid(2g) - 1.
    Returns (gate activations, new cell, tanh(new cell), h): backward (unrolled.py) needs all four.
    """
    act = torch.sigmoid(gates)
    i, f, g, o = act.chunk(4, dim=1)
    cell = torch.addcmul(f * cell, i, g * 2 - 1)
    tanh_cell = sigmoid_tanh(cell)
    return act, cell, tanh_cell, o * tanh_cell


def lstm_update(gates: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
    """(h, new cell) of :func:`lstm_step`."""
    _, cell, _, h = lstm_step(gates, cell)
    return h, cell


def _gate_scale(cell: nn.LSTMCell) -> Tensor:
    """Per-row factor doubling the g block, for :func:`lstm_update`."""
    hidden = cell.hidden_size
    scale = torch.ones(4 * hidden, device=cell.weight_hh.device, dtype=cell.weight_hh.dtype)
    scale[2 * hidden : 3 * hidden] = 2.0
    return scale


class FusedWeights(NamedTuple):
    """Products of one step. Rows of ``dec_w``: [heads, decoder recurrence, encoder h^dec input];
    rows of ``enc_w``: [mu, log sigma, encoder recurrence]; biases of both LSTMs are folded in."""

    enc_read_w: Tensor  # (4 He, read size): encoder input from the read
    enc_w: Tensor  # (2 Z + 4 He, He)
    enc_b: Tensor
    dec_z_w: Tensor  # (4 Hd, Z): decoder input from z
    dec_w: Tensor  # (heads + 4 Hd + 4 He, Hd)
    dec_b: Tensor


def fuse_weights(
    *, encoder: nn.LSTMCell, decoder: nn.LSTMCell, to_latent: nn.Linear, heads: list[nn.Linear]
) -> FusedWeights:
    """Concatenate the model's parameters into the products of :class:`FusedWeights`."""
    enc_scale, dec_scale = _gate_scale(encoder)[:, None], _gate_scale(decoder)[:, None]
    read_size = encoder.input_size - decoder.hidden_size
    enc_ih = encoder.weight_ih * enc_scale
    enc_bias = (encoder.bias_ih + encoder.bias_hh) * enc_scale[:, 0]
    dec_bias = (decoder.bias_ih + decoder.bias_hh) * dec_scale[:, 0]
    return FusedWeights(
        enc_read_w=enc_ih[:, :read_size],
        enc_w=torch.cat([to_latent.weight, encoder.weight_hh * enc_scale]),
        enc_b=torch.cat([to_latent.bias, enc_bias]),
        dec_z_w=decoder.weight_ih * dec_scale,
        dec_w=torch.cat([*(m.weight for m in heads), decoder.weight_hh * dec_scale, enc_ih[:, read_size:]]),
        dec_b=torch.cat([*(m.bias for m in heads), dec_bias, torch.zeros_like(enc_bias)]),
    )
