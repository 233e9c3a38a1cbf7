import pytest
import torch

from draw_lightning.models import AttentionParams
from draw_lightning.viz import attention_boxes, draw_boxes

RED = (255, 0, 0)


def window(cx: float, cy: float, stride: float) -> AttentionParams:
    one = torch.ones(1)
    return AttentionParams(one * cx, one * cy, one * stride, one, one)


def test_box_is_centre_plus_minus_n_stride_over_two_in_zero_based_pixels():
    # centre (10, 7) in 1-based pixel coordinates, N = 3, stride 2: half-width 3.
    boxes = attention_boxes(window(10, 7, 2.0), n=3, height=20, width=20)
    assert boxes.tolist() == [[6, 3, 12, 9]]  # 10 - 1 - 3, 7 - 1 - 3, 10 - 1 + 3, 7 - 1 + 3


def test_box_is_clipped_to_the_image():
    boxes = attention_boxes(window(2, 19, 4.0), n=5, height=20, width=24)
    assert boxes.tolist() == [[0, 8, 11, 19]]  # x: 1 - 10 -> 0, 1 + 10 = 11; y: 18 - 10 = 8, 28 -> 19


def test_upscaled_box_edges_sit_on_the_centre_of_the_scaled_pixel():
    # scale 3: pixel index p covers 3p..3p+2, its centre is 3p + 1.
    boxes = attention_boxes(window(10, 7, 2.0), n=3, height=20, width=20, scale=3)
    assert boxes.tolist() == [[6 * 3 + 1, 3 * 3 + 1, 12 * 3 + 1, 9 * 3 + 1]]


def test_drawn_box_edges_have_the_box_colour_where_the_params_say():
    images = torch.zeros(1, 3, 20, 20, dtype=torch.uint8)
    out = draw_boxes(images, attention_boxes(window(10, 7, 2.0), n=3, height=20, width=20), color=RED)
    red = (out[0] == torch.tensor(RED, dtype=torch.uint8)[:, None, None]).all(0)  # (H, W)
    x0, y0, x1, y1 = 6, 3, 12, 9
    assert red[y0, x0 : x1 + 1].all() and red[y1, x0 : x1 + 1].all()  # top and bottom edges
    assert red[y0 : y1 + 1, x0].all() and red[y0 : y1 + 1, x1].all()  # left and right edges
    edges = 2 * (x1 - x0 + 1) + 2 * (y1 - y0 + 1) - 4
    assert int(red.sum()) == edges  # nothing else is red: the inside and outside are untouched
    assert not red[y0 + 1 : y1, x0 + 1 : x1].any()
    assert images.sum() == 0  # the input is not modified


def test_draw_boxes_rejects_float_images_and_mismatched_boxes():
    with pytest.raises(ValueError, match="uint8 images"):
        draw_boxes(torch.zeros(1, 3, 5, 5), torch.zeros(1, 4, dtype=torch.long), color=RED)
    with pytest.raises(ValueError, match=r"boxes of shape \(2, 4\)"):
        draw_boxes(torch.zeros(2, 3, 5, 5, dtype=torch.uint8), torch.zeros(1, 4, dtype=torch.long), color=RED)
