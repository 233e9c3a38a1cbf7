"""Every ``conf/experiment/*.yaml`` holds its paper's or report's setting and trains (debug=fdr)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from draw_lightning.configs import CONFIG_DIR
from draw_lightning.train import train

EXPERIMENTS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))

# Gregor et al. 2015 table 3, and table 1 of the Quick, Draw! report (shared/REFERENCES.md).
PAPER = dict(optimizer="torch.optim.Adam", lr=1e-3)
REPORT = dict(
    optimizer="torch.optim.RMSprop", lr=1e-3, enc_hidden=256, z_dim=10, write_n=5, attention=True, max_steps=10_000
)
MNIST = dict(PAPER, num_steps=64, enc_hidden=256, z_dim=100)
EXPECTED = {
    "draw_mnist_attn": dict(MNIST, data="binarized_mnist", attention=True, read_n=2, write_n=5),
    "draw_mnist_noattn": dict(MNIST, data="binarized_mnist", attention=False),
    "draw_svhn": dict(
        PAPER, data="svhn", attention=True, num_steps=32, enc_hidden=800, z_dim=100, read_n=12, write_n=12
    ),
    "draw_cifar10": dict(
        PAPER, data="cifar10", attention=True, num_steps=64, enc_hidden=400, z_dim=200, read_n=5, write_n=5
    ),
    "fashion_mnist_attn": dict(MNIST, data="fashion_mnist", attention=True, read_n=2, write_n=5),
    "fashion_mnist_noattn": dict(MNIST, data="fashion_mnist", attention=False),
    "quickdraw_cat_r5_t20_b64": dict(REPORT, data="quickdraw_cat", read_n=5, num_steps=20, batch_size=64),
    "quickdraw_cat_r5_t20_b100": dict(REPORT, data="quickdraw_cat", read_n=5, num_steps=20, batch_size=100),
    "quickdraw_dog_r5_t10_b100": dict(REPORT, data="quickdraw_dog", read_n=5, num_steps=10, batch_size=100),
    "quickdraw_dog_r5_t20_b100": dict(REPORT, data="quickdraw_dog", read_n=5, num_steps=20, batch_size=100),
    "quickdraw_cat_dog_r2_t20_b100": dict(REPORT, data="quickdraw_cat_dog", read_n=2, num_steps=20, batch_size=100),
    "quickdraw_cat_dog_r5_t20_b100": dict(REPORT, data="quickdraw_cat_dog", read_n=5, num_steps=20, batch_size=100),
}

# Datasets with no offline copy usable as configured (torchvision checks SVHN's and CIFAR-10's
# files by md5, so they cannot be faked): the training check runs on real CIFAR-10 images of
# the same shape (3x32x32); the composition check above still sees the experiment's own data.
STAND_IN_DATA = {"svhn": "cifar10_folder", "cifar10": "cifar10_folder"}


def test_every_experiment_has_its_published_setting_listed() -> None:
    assert EXPERIMENTS == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_with_its_setting(name: str, compose_train) -> None:
    cfg = compose_train([f"experiment={name}"])
    want = EXPECTED[name]
    net = cfg.model.net
    assert cfg.hydra.runtime.choices["data"] == want["data"]
    assert (net.num_steps, net.enc_hidden, net.dec_hidden, net.z_dim) == (
        want["num_steps"],
        want["enc_hidden"],
        want["enc_hidden"],
        want["z_dim"],
    )
    assert net.read_attention is net.write_attention is want["attention"]
    if want["attention"]:
        assert (net.read_n, net.write_n) == (want["read_n"], want["write_n"])
    assert (cfg.model.optimizer._target_, cfg.model.optimizer.lr) == (want["optimizer"], want["lr"])
    if "batch_size" in want:
        assert cfg.data.batch_size == want["batch_size"]
    if "max_steps" in want:  # 10^4 iterations, clipped gradients
        assert cfg.trainer.max_steps == want["max_steps"]
        assert cfg.trainer.gradient_clip_val > 0


@pytest.fixture(scope="module")
def experiment_data_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The real data, plus Quick, Draw! dogs (not in the offline copy) in Google's format."""
    root = tmp_path_factory.mktemp("data")
    for entry in data_dir.iterdir():
        if entry.name != "quickdraw":
            (root / entry.name).symlink_to(entry)
    (root / "quickdraw").mkdir()
    for npy in (data_dir / "quickdraw").glob("*.npy"):
        (root / "quickdraw" / npy.name).symlink_to(npy)
    # Strokes-like bitmaps: random sparse ink, uint8 (N, 784) as in Google's numpy_bitmap files.
    rng = np.random.default_rng(0)
    dogs = np.where(rng.random((400, 784)) < 0.15, rng.integers(1, 256, (400, 784)), 0).astype(np.uint8)
    np.save(root / "quickdraw" / "dog.npy", dogs)
    return root


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_trains_one_batch(name: str, compose_train, experiment_data_dir: Path) -> None:
    data = EXPECTED[name]["data"]
    overrides = [f"experiment={name}", "debug=fdr", "data.batch_size=8", f"paths.data_dir={experiment_data_dir}"]
    if data in STAND_IN_DATA:
        overrides.append(f"data={STAND_IN_DATA[data]}")
    cfg = compose_train(overrides)
    metrics = train(cfg)
    for key in ("train/loss", "val/loss", "test/loss"):
        assert math.isfinite(metrics[key]), (key, metrics)
    # After one step the canvas is sigmoid(c_0 + the initial writes), c_0 = 0: within a small factor
    # of log 2 nats per pixel (the tiled write window adds ~1 per unit patch entry, so not exactly 1/2).
    pixels = 3 * 32 * 32 if data in ("svhn", "cifar10") else 28 * 28
    assert 0.25 * pixels * math.log(2) < metrics["test/rec_loss"] < 2 * pixels * math.log(2)
