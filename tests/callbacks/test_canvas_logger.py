"""The canvas and KL callbacks in a real training run logging to CSV, TensorBoard and W&B offline."""

from pathlib import Path

import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from draw_lightning.callbacks import CanvasLogger
from tests.conftest import TINY_NET

T, SIDE, SCALE, PAD = TINY_NET["num_steps"], 28, 2, 2  # the trained run's DRAW
CELL = SIDE * SCALE + PAD


def wandb_files(run: Path) -> Path:
    (offline,) = (run / "wandb").glob("offline-run-*")
    return offline / "files"


def test_wandb_offline_run_holds_canvas_images_video_and_kl_tables(trained_run):
    media = wandb_files(trained_run) / "media"
    generation = sorted((media / "images" / "canvas").glob("generation_*.png"))
    reconstruction = sorted((media / "images" / "canvas").glob("reconstruction_*.png"))
    assert len(generation) == 2 and len(reconstruction) == 2  # epochs 0 and 1
    # 4 samples x T steps; 3 validation images x 2 rows (input, canvas) x T steps
    assert Image.open(generation[0]).size == (T * CELL + PAD, 4 * CELL + PAD)
    assert Image.open(reconstruction[0]).size == (T * CELL + PAD, 6 * CELL + PAD)
    videos = sorted((media / "videos" / "canvas").glob("generation_video_*.gif"))
    assert len(videos) == 2
    with Image.open(videos[-1]) as gif:
        assert gif.n_frames == T
        assert gif.size == (2 * CELL + PAD, 2 * CELL + PAD + PAD)  # 2x2 samples over the progress bar
    tables = {p.name.split("_table_")[0] for p in (media / "table" / "kl_per_step").glob("*.table.json")}
    assert tables == {"val", "test"}


def test_csv_logger_gets_png_files_and_the_gif_stays_in_the_run_folder(trained_run):
    images = trained_run / "images"
    for epoch in (0, 1):
        png = images / "canvas_generation" / f"epoch_{epoch:03d}.png"
        assert Image.open(png).size == (T * CELL + PAD, 4 * CELL + PAD)
        assert (images / "canvas_reconstruction" / f"epoch_{epoch:03d}.png").is_file()
        assert (images / "kl_per_step_val" / f"epoch_{epoch:03d}.png").is_file()
        with Image.open(images / "canvas_generation_video" / f"epoch_{epoch:03d}.gif") as gif:
            assert gif.n_frames == T
    assert (images / "kl_per_step_test").is_dir()


def test_tensorboard_gets_the_images(trained_run):
    images = {}
    for events in (trained_run / "tensorboard").glob("events.out.tfevents.*"):  # one file for fit, one for test
        acc = EventAccumulator(str(events), size_guidance={"images": 0})
        acc.Reload()
        for tag in acc.Tags()["images"]:
            images.setdefault(tag, []).extend(acc.Images(tag))
    assert {"canvas/generation", "canvas/reconstruction", "kl_per_step/val", "kl_per_step/test"} <= set(images)
    generation = images["canvas/generation"]
    assert len(generation) == 2 and (generation[0].width, generation[0].height) == (T * CELL + PAD, 4 * CELL + PAD)


def test_same_prior_noise_at_every_epoch():
    class Net(torch.nn.Module):
        num_steps, z_dim = 5, 3

    class Module(torch.nn.Module):
        net = Net()

    callback = CanvasLogger(image_dir="unused", num_samples=2, seed=7)
    first = callback.fixed_noise(Module()).clone()
    assert first.shape == (5, 2, 3)
    assert torch.equal(callback.fixed_noise(Module()), first)
    assert torch.equal(CanvasLogger(image_dir="unused", num_samples=2, seed=7).fixed_noise(Module()), first)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="callbacks.canvas_logger.every_n_epochs"):
        CanvasLogger(image_dir="x", every_n_epochs=0)
    with pytest.raises(ValueError, match="callbacks.canvas_logger.num_reconstructions"):
        CanvasLogger(image_dir="x", num_reconstructions=-1)
