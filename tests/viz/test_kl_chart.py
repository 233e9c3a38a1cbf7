import pytest
import torch

from draw_lightning.viz import kl_bar_chart
from draw_lightning.viz.kl_chart import BAR_COLOR, MARGIN


def test_bar_heights_are_proportional_to_kl():
    chart = kl_bar_chart(torch.tensor([1.0, 4.0, 2.0, 0.0]), height=100, bar_width=8)
    assert chart.dtype == torch.uint8 and chart.shape[1] == 100 + 2 * MARGIN
    bar = (chart == torch.tensor(BAR_COLOR, dtype=torch.uint8)[:, None, None]).all(0)
    heights = [int(bar[:, MARGIN + t * 8 + 2].sum()) for t in range(4)]
    assert heights == [25, 100, 50, 0]


def test_kl_chart_rejects_negative_or_empty_values():
    with pytest.raises(ValueError, match="finite and >= 0"):
        kl_bar_chart(torch.tensor([1.0, -0.5]))
    with pytest.raises(ValueError, match="non-empty"):
        kl_bar_chart(torch.tensor([]))
