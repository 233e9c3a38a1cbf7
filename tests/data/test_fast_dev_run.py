"""One train/val/test batch for every data config, composed from conf/, model shape taken from the data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hydra.utils import instantiate
from PIL import Image

from draw_lightning.train import train
from tests.conftest import TINY_MODEL


def synthetic_quickdraw(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    (root / "quickdraw").mkdir(parents=True)
    for name in ("cat", "dog"):
        np.save(root / "quickdraw" / f"{name}.npy", rng.integers(0, 256, (50, 784), dtype=np.uint8))
    return [f"data.data_dir={root}"]


def synthetic_svhn(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    (root / "svhn").mkdir(parents=True)
    for split in ("train", "test"):
        images = rng.integers(0, 256, (32, 32, 3, 40), dtype=np.uint8)
        scipy.io.savemat(root / "svhn" / f"{split}_32x32.mat", {"X": images, "y": rng.integers(1, 11, (40, 1))})
    return [f"data.data_dir={root}", "data.val_size=8"]


def synthetic_image_folder(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return [f"data.root={root}", "data.height=12", "data.width=20", "data.channels=1"]


CASES = {
    "mnist": ([], (1, 28, 28)),
    "fashion_mnist": ([], (1, 28, 28)),
    "binarized_mnist": ([], (1, 28, 28)),
    "binarized_mnist_dynamic": (["data.binarization=dynamic"], (1, 28, 28)),
    "svhn": (synthetic_svhn, (3, 32, 32)),
    "cifar10_folder": ([], (3, 32, 32)),
    "image_folder": (synthetic_image_folder, (1, 12, 20)),
    "omniglot": ([], (1, 28, 28)),
    "quickdraw": (["data.categories=[apple,fish]", "data.binarization=dynamic"], (1, 28, 28)),
    "quickdraw_cat": ([], (1, 28, 28)),
    "quickdraw_dog": (synthetic_quickdraw, (1, 28, 28)),
    "quickdraw_cat_dog": (synthetic_quickdraw, (1, 28, 28)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fast_dev_run(name, tmp_path, compose_train):
    extra, image_shape = CASES[name]
    overrides = extra(tmp_path / "data") if callable(extra) else extra
    config = name.removesuffix("_dynamic")
    cfg = compose_train(
        [
            f"data={config}",
            "debug=fdr",
            f"data.cache_dir={tmp_path / 'cache'}",
            "data.batch_size=8",
            *TINY_MODEL,
            *overrides,
        ]
    )
    datamodule = instantiate(cfg.data)
    assert datamodule.image_shape == image_shape
    assert instantiate(cfg.model, image_shape=datamodule.image_shape).net.image_shape == image_shape
    metrics = train(cfg)
    assert math.isfinite(metrics["test/loss"]) and metrics["test/loss"] > 0
    assert not (tmp_path / "cache").exists()


def test_cifar10_offline_points_to_the_folder_config(tmp_path, compose_train):
    cfg = compose_train(
        [
            "data=cifar10",
            "debug=fdr",
            f"data.data_dir={tmp_path}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "data.download=false",
            *TINY_MODEL,
        ]
    )
    with pytest.raises(FileNotFoundError, match=r"CIFAR10 not found .*cifar-10-batches-py/.*data=cifar10_folder"):
        train(cfg)
