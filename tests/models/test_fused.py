"""The fused LSTM update against torch's own LSTM cell."""

import torch
from torch import nn

from draw_lightning.models.fused import lstm_update, sigmoid_tanh


def test_sigmoid_tanh_is_tanh() -> None:
    x = torch.linspace(-30, 30, 10001)
    torch.testing.assert_close(sigmoid_tanh(x), torch.tanh(x), rtol=0, atol=3e-7)


def test_lstm_update_matches_lstm_cell_with_doubled_g_gate() -> None:
    torch.manual_seed(0)
    cell = nn.LSTMCell(7, 5)
    x, h, c = torch.randn(3, 7), torch.randn(3, 5), torch.randn(3, 5)
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    gates = torch.cat([gates[:, :10], 2 * gates[:, 10:15], gates[:, 15:]], dim=1)  # [i, f, 2g, o]
    h_ours, c_ours = lstm_update(gates, c)
    h_ref, c_ref = cell(x, (h, c))
    torch.testing.assert_close(h_ours, h_ref)
    torch.testing.assert_close(c_ours, c_ref)
