import pytest
import torch

from draw_lightning.models import DRAW, AttentionParams, DrawTrace
from draw_lightning.viz import (
    generation_frames,
    generation_grid,
    reconstruction_grid,
    sample_grid,
    step_indices,
    to_rgb_uint8,
)
from draw_lightning.viz.grids import PAD_VALUE, PADDING, READ_COLOR, WRITE_COLOR


def fixed_trace(num_steps: int = 3, n: int = 2, side: int = 10) -> DrawTrace:
    """Canvases of value (t + 1) / 10 and a 3x3-pixel write box centred on pixel (5, 5) (1-based)."""
    canvases = torch.stack([torch.full((n, 1, side, side), (t + 1) / 10) for t in range(num_steps)])
    ones = torch.ones(num_steps, n)
    write = AttentionParams(ones * 5, ones * 5, ones * 1.0, ones, ones)  # N = 2: centre ± 1 pixel
    return DrawTrace(canvases=canvases, read=write, write=write)


def cell(grid: torch.Tensor, row: int, col: int, size: int) -> torch.Tensor:
    top, left = PADDING + row * (size + PADDING), PADDING + col * (size + PADDING)
    return grid[:, top : top + size, left : left + size]


def test_step_indices_spread_evenly_and_keep_the_last_step():
    assert step_indices(5, None) == [0, 1, 2, 3, 4]
    assert step_indices(5, 9) == [0, 1, 2, 3, 4]
    assert step_indices(64, 4) == [0, 21, 42, 63]
    assert step_indices(64, 1) == [63]
    with pytest.raises(ValueError, match="max_shown"):
        step_indices(8, 0)


def test_to_rgb_uint8_repeats_grey_and_upscales():
    rgb = to_rgb_uint8(torch.tensor([[[[0.0, 1.0]]]]), scale=2)
    assert rgb.shape == (1, 3, 2, 4) and rgb.dtype == torch.uint8
    assert rgb[0, :, :, :2].eq(0).all() and rgb[0, :, :, 2:].eq(255).all()


def test_generation_grid_rows_are_samples_and_columns_are_steps():
    trace = fixed_trace(num_steps=3, n=2, side=10)
    grid = generation_grid(trace, steps=[0, 2], write_n=2, scale=1)
    assert grid.shape == (3, 2 * (10 + PADDING) + PADDING, 2 * (10 + PADDING) + PADDING)
    assert grid[:, 0, 0].eq(PAD_VALUE).all()
    for row in range(2):
        for col, t in enumerate([0, 2]):
            c = cell(grid, row, col, 10)
            assert c[0, 0, 0] == round((t + 1) / 10 * 255)  # corner: canvas value of step t
            # write box x, y in 3..5 (0-based): centre 5 - 1 = 4, half-width N * stride / 2 = 1
            assert tuple(c[:, 3, 3].tolist()) == WRITE_COLOR and tuple(c[:, 5, 4].tolist()) == WRITE_COLOR
            assert tuple(c[:, 4, 4].tolist()) != WRITE_COLOR  # inside the box: the canvas


def test_reconstruction_grid_puts_read_box_on_input_above_write_box_on_canvas():
    trace = fixed_trace(num_steps=3, n=2, side=10)
    images = torch.rand(2, 1, 10, 10)
    grid = reconstruction_grid(images, trace, steps=[1, 2], read_n=2, write_n=2, scale=1)
    assert grid.shape == (3, 4 * 12 + 2, 2 * 12 + 2)  # 2 rows per image, one column per step
    pixels = to_rgb_uint8(images)
    for i in range(2):
        for col in range(2):
            top, bottom = cell(grid, 2 * i, col, 10), cell(grid, 2 * i + 1, col, 10)
            assert torch.equal(top[:, 0], pixels[i, :, 0])  # the input image, outside the box
            assert tuple(top[:, 3, 3].tolist()) == READ_COLOR
            assert tuple(bottom[:, 3, 3].tolist()) == WRITE_COLOR


def test_sample_grid_is_near_square():
    grid = sample_grid(torch.rand(10, 1, 28, 28), scale=2)
    assert grid.shape == (3, 3 * 58 + 2, 4 * 58 + 2)  # 4 per row, 3 rows


def test_generation_frames_one_distinct_frame_per_step():
    net = DRAW(image_shape=(1, 12, 12), num_steps=5, enc_hidden=8, dec_hidden=8, z_dim=2, write_n=3)
    frames = generation_frames(net.generate(4, generator=torch.Generator().manual_seed(0)), write_n=3, scale=1)
    assert frames.shape == (5, 3, 2 * 14 + 2 + PADDING, 2 * 14 + 2)  # 2x2 grid over a progress bar
    width = frames.shape[-1]
    filled = frames[:, 0, -1].eq(255).sum(-1)  # progress bar length per frame
    assert filled.tolist() == [-(-width * (t + 1) // 5) for t in range(5)]
