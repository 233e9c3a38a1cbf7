"""The sample command on the checkpoint of a short real training run."""

import numpy as np
import pytest
import torch
from PIL import Image

from draw_lightning.lightning_modules import DRAWLitModule
from draw_lightning.sample import sample
from draw_lightning.viz import generation_figures
from tests.conftest import TINY_NET, only_run_dir, run_task

T, CELL, PAD = TINY_NET["num_steps"], 28 * 2 + 2, 2  # the trained run's DRAW


def test_sample_writes_grid_sequence_and_gif_of_the_right_sizes(trained_ckpt, tmp_path):
    run_task("sample", f"ckpt_path={trained_ckpt}", "n=10", "seed=3", "temperature=0.8", cwd=tmp_path)
    run = only_run_dir(tmp_path, "sample")
    # 10 samples: 4 per row, 3 rows, each 28 x 2 pixels plus padding
    assert Image.open(run / "samples.png").size == (4 * CELL + PAD, 3 * CELL + PAD)
    # sequence: rows = the first 8 samples, columns = all T steps
    assert Image.open(run / "sequence.png").size == (T * CELL + PAD, 8 * CELL + PAD)
    with Image.open(run / "generation.gif") as gif:
        assert gif.n_frames == T and gif.size == (4 * CELL + PAD, 3 * CELL + PAD + PAD)
    # the W&B offline run got the same pictures
    media = next((run / "wandb").glob("offline-run-*")) / "files" / "media"
    assert len(list((media / "images" / "sample").glob("*.png"))) == 2
    assert len(list((media / "videos" / "sample").glob("*.gif"))) == 1


def test_samples_png_is_the_seeded_prior_sample_of_the_checkpoint(trained_ckpt, tmp_path):
    run_task("sample", f"ckpt_path={trained_ckpt}", "n=4", "seed=5", "temperature=0.5", "logger=none", cwd=tmp_path)
    written = Image.open(only_run_dir(tmp_path, "sample") / "samples.png").convert("RGB")
    net = DRAWLitModule.load_from_checkpoint(trained_ckpt, map_location="cpu").net
    expected = generation_figures(
        net, num_samples=4, generator=torch.Generator().manual_seed(5), temperature=0.5, scale=2
    )["samples"]
    assert torch.equal(torch.from_numpy(np.array(written)).permute(2, 0, 1), expected)


def test_bad_sample_count_is_named(compose_task):
    cfg = compose_task("sample", ["ckpt_path=x.ckpt", "n=0"])
    with pytest.raises(ValueError, match=r"n \(number of samples\) must be an integer >= 1, got 0"):
        sample(cfg)
    cfg.n, cfg.temperature = 4, -1.0
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample(cfg)
