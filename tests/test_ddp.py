"""trainer=ddp_sim: two CPU processes (gloo, spawned) give the single-process validation loss,
and write one run folder, with checkpoints written once, by rank 0."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate

from draw_lightning.data import batch_images
from draw_lightning.lightning_modules import DRAWLitModule
from tests.conftest import TINY_MODEL, run_task

# 2000 cats, half for validation: 1000 images, an even number, so DistributedSampler pads nothing
# (with an odd count one rank would repeat an image and the DDP mean would weigh it twice).
SMALL = [
    "logger=csv",
    "data.max_per_category=2000",
    "data.val_fraction=0.5",
    "data.batch_size=32",
    "data.eval_batch_size=25",
    *TINY_MODEL,
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=5",
    "trainer.num_sanity_val_steps=0",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
]


def per_image_losses(model: DRAWLitModule, loader, *, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    with torch.no_grad():
        return torch.cat([model.net(batch_images(batch)).loss for batch in loader])


@pytest.mark.slow  # three processes start torch and Lightning: about a minute on 2 busy cores
def test_ddp_sim_matches_single_process_and_writes_once(compose_train, tmp_path: Path) -> None:
    result = run_task("train", "trainer=ddp_sim", "test=false", *SMALL, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr[-3000:]

    # One run folder and nothing else, whatever the number of processes.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "logs").glob("*/*")) == ["logs/train/runs"]
    (run,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert sorted(p.name for p in run.iterdir()) == [
        ".hydra",
        "checkpoints",
        "config_resolved.yaml",
        "csv",
        "images",
        "train.log",
    ]
    # canvas figures written once, by rank 0: one file per figure for the one epoch
    images = sorted(str(p.relative_to(run / "images")) for p in (run / "images").rglob("*.*"))
    assert images and all(name.endswith(("epoch_000.png", "epoch_000.gif")) for name in images), images
    assert len({name.split("/")[0] for name in images}) == len(images), images
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    with open(run / "csv" / "metrics.csv") as f:
        val_rows = [row for row in csv.DictReader(f) if row.get("val/loss")]
    assert len(val_rows) == 1, "one validation row per epoch: a second process logged too"
    ddp_val = float(val_rows[0]["val/loss"])

    # The same weights and validation images in one process.
    cfg = compose_train(SMALL)
    datamodule = instantiate(cfg.data)
    datamodule.setup("validate")
    loader = datamodule.val_dataloader()
    assert len(loader.dataset) == 1000
    model = DRAWLitModule.load_from_checkpoint(run / "checkpoints" / "last.ckpt", map_location="cpu").eval()
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    (single,) = trainer.validate(model, dataloaders=loader, verbose=False)
    single_val = single["val/loss"]

    # Tolerance from the Monte-Carlo noise of the sampled z: each run averages one draw per
    # image over N images, so their difference has sd sigma_z * sqrt(2 / N) (sigma_z: sd over
    # draws for one image, estimated from 8 repeats). 5 sd: a false alarm once in ~2 million.
    repeats = torch.stack([per_image_losses(model, loader, seed=s) for s in range(8)])
    sigma_z = repeats.std(0).pow(2).mean().sqrt().item()
    n = repeats.shape[1]
    tolerance = 5 * sigma_z * math.sqrt(2 / n)
    print(f"ddp {ddp_val:.4f} single {single_val:.4f} tolerance {tolerance:.4f}")
    assert abs(ddp_val - single_val) < tolerance, (ddp_val, single_val, tolerance)
