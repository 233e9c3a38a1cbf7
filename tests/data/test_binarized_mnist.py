import numpy as np
import pytest
import torch

from draw_lightning.data import BinarizedMNISTDataModule
from draw_lightning.data.binarized_mnist import NO_LABEL
from draw_lightning.data.samplers import EpochBatch


def test_static_split_sizes_values_and_labels(data_dir):
    dm = BinarizedMNISTDataModule(data_dir=data_dir, binarization="static")
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 50_000, "val": 10_000, "test": 10_000}
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (64, 1, 28, 28)
    assert set(torch.unique(x).tolist()) == {0.0, 1.0}
    assert (y == NO_LABEL).all()
    raw = np.load(data_dir / "binarized_mnist" / "binarized_mnist.npz")["valid"][:64]
    assert np.array_equal(x.reshape(64, 784).numpy(), raw.astype(np.float32))  # fixed, in file order


def test_dynamic_resamples_training_images_each_epoch_and_fixes_val_test(data_dir, cache_dir):
    dm = BinarizedMNISTDataModule(data_dir=data_dir, cache_dir=cache_dir, binarization="dynamic", download=False)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 50_000, "val": 10_000, "test": 10_000}
    train = dm.splits["train"]
    first = torch.stack([x for x, _ in train.__getitems__(EpochBatch(list(range(16)), 0))])
    again = torch.stack([x for x, _ in train.__getitems__(EpochBatch(list(range(16)), 0))])
    later = torch.stack([x for x, _ in train.__getitems__(EpochBatch(list(range(16)), 1))])
    assert set(torch.unique(first).tolist()) == {0.0, 1.0}
    assert first.equal(again) and not first.equal(later)
    # P(pixel = 1) is the grey level: the sample's mean tracks MNIST's mean intensity (~0.13)
    grey = torch.from_numpy(train.images[train.rows[:16]]).float() / 255
    assert abs(first.mean().item() - grey.mean().item()) < 0.01
    val_a, _ = next(iter(dm.val_dataloader()))
    val_b, _ = next(iter(dm.val_dataloader()))
    assert val_a.equal(val_b)
    labels = np.concatenate([train.labels[train.rows], dm.splits["val"].labels[dm.splits["val"].rows]])
    assert np.bincount(labels).sum() == 60_000


def test_static_file_with_wrong_key_or_shape(tmp_path):
    path = tmp_path / "binarized_mnist" / "binarized_mnist.npz"
    path.parent.mkdir()
    np.savez(path, train=np.zeros((5, 784), np.uint8), valid=np.zeros((5, 784), np.uint8))
    dm = BinarizedMNISTDataModule(data_dir=tmp_path)
    with pytest.raises(ValueError, match=r"binarized_mnist.npz: missing array\(s\) \['test'\]; expected keys"):
        dm.setup()
    np.savez(path, train=np.zeros((5, 784), np.uint8), valid=np.zeros((5, 28, 28), np.uint8), test=np.zeros((5, 784)))
    with pytest.raises(ValueError, match=r"\['valid'\]: expected an \(N, 784\) integer array of 0/1 values, got shape"):
        BinarizedMNISTDataModule(data_dir=tmp_path).setup()
    np.savez(
        path,
        train=np.full((5, 784), 255, np.uint8),
        valid=np.zeros((5, 784), np.uint8),
        test=np.zeros((5, 784), np.uint8),
    )
    with pytest.raises(ValueError, match=r"\['train'\]: .* with values in \[255, 255\]"):
        BinarizedMNISTDataModule(data_dir=tmp_path).setup()


def test_unknown_binarization_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="data.binarization must be static or dynamic, got 'sometimes'"):
        BinarizedMNISTDataModule(data_dir=tmp_path, binarization="sometimes")
    with pytest.raises(FileNotFoundError, match="binarized MNIST file .*binarized_mnist.npz not found"):
        BinarizedMNISTDataModule(data_dir=tmp_path).setup()
