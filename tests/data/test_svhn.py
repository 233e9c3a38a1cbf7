from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from draw_lightning.data import SVHNDataModule


def write_svhn(root: Path, split: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A file in SVHN's own format: X (32, 32, 3, N) uint8, y (N, 1) with labels 1..10 (10 = digit 0)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    labels = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
    (root / "svhn").mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / "svhn" / f"{split}_32x32.mat", {"X": images, "y": labels})
    return images, labels


def test_reads_svhn_format(tmp_path, cache_dir):
    train_x, train_y = write_svhn(tmp_path, "train", 60, seed=0)
    write_svhn(tmp_path, "test", 20, seed=1)
    dm = SVHNDataModule(data_dir=tmp_path, cache_dir=cache_dir, val_size=10, download=False, batch_size=100)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 50, "val": 10, "test": 20}
    train = dm.splits["train"]
    image, label = train[0]
    row = int(train.rows[0])
    assert image.shape == (3, 32, 32) == dm.image_shape
    # channel c, row i, column j of image n is X[i, j, c, n]
    assert torch.allclose(image, torch.from_numpy(train_x[:, :, :, row].transpose(2, 0, 1)).float() / 255)
    assert label == int(train_y[row, 0]) % 10
    all_labels = np.concatenate([train.labels[train.rows], dm.splits["val"].labels[dm.splits["val"].rows]])
    assert np.array_equal(np.bincount(all_labels, minlength=10), np.bincount(train_y[:, 0] % 10, minlength=10))
    assert 0 in all_labels and all_labels.max() <= 9
    x, _ = next(iter(dm.test_dataloader()))
    assert x.shape == (20, 3, 32, 32) and x.min() >= 0 and x.max() <= 1


def test_use_extra_adds_training_images(tmp_path, cache_dir):
    for split, n in (("train", 30), ("test", 5), ("extra", 40)):
        write_svhn(tmp_path, split, n, seed=n)
    dm = SVHNDataModule(data_dir=tmp_path, cache_dir=cache_dir, val_size=5, use_extra=True, download=False)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 65, "val": 5, "test": 5}


def test_bad_svhn_files(tmp_path, cache_dir):
    (tmp_path / "svhn").mkdir()
    path = tmp_path / "svhn" / "train_32x32.mat"
    scipy.io.savemat(path, {"images": np.zeros((2, 2))})
    dm = SVHNDataModule(data_dir=tmp_path, cache_dir=cache_dir, val_size=1, download=False)
    with pytest.raises(
        ValueError, match=r"train_32x32.mat: expected arrays X and y \(SVHN's format\), found \['images'\]"
    ):
        dm.load(train=True)
    scipy.io.savemat(path, {"X": np.zeros((28, 28, 1, 4), np.uint8), "y": np.ones((4, 1))})
    with pytest.raises(ValueError, match=r"X must be a \(32, 32, 3, N\) uint8 array, got \(28, 28, 1, 4\)"):
        dm.load(train=True)
    scipy.io.savemat(path, {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.zeros((4, 1))})
    with pytest.raises(ValueError, match=r"y must hold 4 labels in 1..10, got 4 in \[0.0, 0.0\]"):
        dm.load(train=True)
    path.write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="train_32x32.mat is not a readable MATLAB .mat file"):
        dm.load(train=True)
    with pytest.raises(
        FileNotFoundError, match=r"SVHN file not found \(looked in .*test_32x32.mat.*data.download is false"
    ):
        dm.load(train=False)
