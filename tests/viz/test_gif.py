import pytest
import torch
from PIL import Image, ImageSequence

from draw_lightning.viz import write_gif


def test_gif_has_every_frame_at_the_right_size_and_content(tmp_path):
    frames = torch.zeros(6, 3, 20, 30, dtype=torch.uint8)
    for t in range(6):
        frames[t, 0, :, : 5 * (t + 1)] = 255  # a red bar growing by 5 pixels per frame
    path = write_gif(frames, tmp_path / "sub" / "g.gif", frame_ms=50)
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.size == (30, 20)
        for t, frame in enumerate(ImageSequence.Iterator(gif)):
            rgb = frame.convert("RGB")
            assert rgb.getpixel((5 * (t + 1) - 1, 10)) == (255, 0, 0)
            if t < 5:
                assert rgb.getpixel((5 * (t + 1), 10)) == (0, 0, 0)


def test_write_gif_rejects_float_frames(tmp_path):
    with pytest.raises(ValueError, match="uint8 frames"):
        write_gif(torch.zeros(2, 3, 4, 4), tmp_path / "g.gif")
