import numpy as np
import pytest
import torch

from draw_lightning.data import FashionMNISTDataModule, MNISTDataModule

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def split_labels(dataset) -> np.ndarray:
    return dataset.labels[dataset.rows]


@pytest.mark.parametrize(
    ("module", "train_counts", "test_counts"),
    [
        (MNISTDataModule, MNIST_TRAIN_COUNTS, MNIST_TEST_COUNTS),
        (FashionMNISTDataModule, [6000] * 10, [1000] * 10),
    ],
)
def test_real_splits_shapes_and_label_counts(data_dir, cache_dir, module, train_counts, test_counts):
    dm = module(data_dir=data_dir, cache_dir=cache_dir, download=False, seed=0)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 50_000, "val": 10_000, "test": 10_000}
    fit_labels = np.concatenate([split_labels(dm.splits["train"]), split_labels(dm.splits["val"])])
    assert np.bincount(fit_labels).tolist() == train_counts
    assert np.bincount(split_labels(dm.splits["test"])).tolist() == test_counts
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and 0 < x.mean() < 0.5
    assert len(torch.unique(x)) > 2  # grey levels, not binarised
    assert dm.image_shape == (1, 28, 28) and y.dtype == torch.int64


def test_mnist_split_deterministic_by_seed(data_dir, cache_dir):
    def val_rows(seed):
        dm = MNISTDataModule(data_dir=data_dir, cache_dir=cache_dir, download=False, seed=seed)
        dm.setup()
        return dm.splits["val"].rows

    assert np.array_equal(val_rows(0), val_rows(0))
    assert not np.array_equal(val_rows(0), val_rows(1))


def test_missing_mnist_offline_names_places_and_remedy(tmp_path, cache_dir):
    dm = MNISTDataModule(data_dir=tmp_path / "empty", cache_dir=cache_dir, download=False)
    with pytest.raises(FileNotFoundError) as err:
        dm.setup()
    message = str(err.value)
    assert f"{tmp_path / 'empty'}/MNIST/raw/" in message and f"{cache_dir}/MNIST/raw/" in message
    assert "data.download is false" in message and "DRAW_DATA_DIR" in message
