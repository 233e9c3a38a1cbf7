import os
from pathlib import Path

import numpy as np
import pytest
import torch

from draw_lightning.data import QuickDrawDataModule
from draw_lightning.data.locations import is_writable_dir
from draw_lightning.data.samplers import EpochBatch

OFFLINE = ["apple", "bicycle", "cat", "diamond", "eye", "fish"]


def test_six_real_categories(data_dir, cache_dir):
    dm = QuickDrawDataModule(categories=OFFLINE, data_dir=data_dir, cache_dir=cache_dir, seed=0)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 6 * 2400, "val": 6 * 300, "test": 6 * 300}
    for split, per_category in (("train", 2400), ("val", 300), ("test", 300)):
        dataset = dm.splits[split]
        _, labels = dataset.read(np.arange(len(dataset)))
        assert np.bincount(labels).tolist() == [per_category] * 6
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (64, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert len(set(y.tolist())) > 3  # shuffled across categories
    # values are the file's bytes / 255, for a row of each category
    test = dm.splits["test"]
    for label, category in enumerate(OFFLINE):
        index = int(test.starts[label])
        raw = np.load(data_dir / "quickdraw" / f"{category}.npy", mmap_mode="r")[test.rows[label][0]]
        image, got_label = test[index]
        assert got_label == label
        assert torch.equal(image.reshape(-1), torch.from_numpy(raw.astype(np.float32)) / 255)
    assert not cache_dir.exists()  # nothing downloaded, nothing written


def test_splits_deterministic_and_disjoint(data_dir):
    def rows(seed):
        dm = QuickDrawDataModule(categories=["cat"], data_dir=data_dir, seed=seed)
        dm.setup()
        return {k: v.rows[0] for k, v in dm.splits.items()}

    a, b, c = rows(0), rows(0), rows(1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["val"], c["val"])
    assert len(np.union1d(np.union1d(a["train"], a["val"]), a["test"])) == 3000


def test_batch_read_equals_item_reads(data_dir):
    dm = QuickDrawDataModule(categories=["fish", "eye"], data_dir=data_dir)
    dm.setup()
    train = dm.splits["train"]
    indices = [4000, 3, 2401, 2400, 17, 4799]
    batch = train.__getitems__(indices)
    for (image, label), index in zip(batch, indices, strict=True):
        item_image, item_label = train[index]
        assert torch.equal(image, item_image) and label == item_label
    assert [label for _, label in batch] == [1, 0, 1, 1, 0, 1]


def test_cap_balanced_and_natural_mixing(tmp_path, cache_dir, write_npy):
    write_npy(tmp_path / "quickdraw" / "cat.npy", np.zeros((100, 784), np.uint8))
    write_npy(tmp_path / "quickdraw" / "dog.npy", np.ones((40, 784), np.uint8))
    common = {"categories": ["cat", "dog"], "data_dir": tmp_path, "cache_dir": cache_dir}

    def sizes(**kwargs):
        dm = QuickDrawDataModule(**common, **kwargs)
        dm.setup()
        return [len(r) for split in ("train", "val", "test") for r in dm.splits[split].rows]

    assert sizes(mixing="natural") == [80, 32, 10, 4, 10, 4]
    assert sizes(mixing="balanced") == [32, 32, 4, 4, 4, 4]
    assert sizes(mixing="natural", max_per_category=50) == [40, 32, 5, 4, 5, 4]
    dm = QuickDrawDataModule(**common, max_per_category=30)
    dm.setup()
    assert max(r.max() for split in dm.splits.values() for r in split.rows) == 29  # the first rows
    with pytest.raises(ValueError, match=r"Quick, Draw! 'cat' \(5 rows\): the val and test split would be empty"):
        QuickDrawDataModule(**common, max_per_category=5).setup()


def test_binarization(data_dir):
    threshold = QuickDrawDataModule(categories=["cat"], data_dir=data_dir, binarization="threshold")
    grey = QuickDrawDataModule(categories=["cat"], data_dir=data_dir)
    dynamic = QuickDrawDataModule(categories=["cat"], data_dir=data_dir, binarization="dynamic")
    for dm in (threshold, grey, dynamic):
        dm.setup()
    g = grey.splits["val"][0][0]
    assert torch.equal(threshold.splits["val"][0][0], (g > 0.5).float())
    d0 = dynamic.splits["train"].__getitems__(EpochBatch([0], 0))[0][0]
    d1 = dynamic.splits["train"].__getitems__(EpochBatch([0], 1))[0][0]
    assert set(torch.unique(d0).tolist()) == {0.0, 1.0} and not torch.equal(d0, d1)
    assert torch.equal(dynamic.splits["val"].__getitems__(EpochBatch([0], 3))[0][0], dynamic.splits["val"][0][0])


def missing_dog(data: Path, cache_dir: Path) -> tuple[str, list[str]]:
    """The error of preparing "dog", absent from ``data``, with the network unreachable; the files of ``data``."""
    dm = QuickDrawDataModule(
        categories=["dog"], data_dir=data, cache_dir=cache_dir, download_url="http://127.0.0.1:9/quickdraw"
    )  # closed port: fails at once
    with pytest.raises(FileNotFoundError) as err:
        dm.prepare_data()
    message = str(err.value)
    assert "Quick, Draw! file dog.npy not found" in message
    assert str(data / "quickdraw" / "dog.npy") in message and str(cache_dir / "quickdraw" / "dog.npy") in message
    assert "http://127.0.0.1:9/quickdraw/dog.npy is unreachable" in message
    assert "set DRAW_DATA_DIR" in message
    assert not list(cache_dir.rglob("*.npy")) and not list(cache_dir.rglob("*.part"))
    return message, sorted(os.listdir(data / "quickdraw"))


def test_dog_missing_from_read_only_data_names_places_and_cache(tmp_path, cache_dir, write_npy):
    """A read-only data folder without dog.npy, network unreachable: the download was to go to the cache."""
    data = tmp_path / "data"
    write_npy(data / "quickdraw" / "cat.npy", np.zeros((10, 784), np.uint8))
    for folder in (data / "quickdraw", data):
        folder.chmod(0o555)
    try:
        if is_writable_dir(data / "quickdraw"):
            pytest.skip("chmod 0o555 did not make the data folder read-only here")
        message, files = missing_dog(data, cache_dir)
        target = cache_dir / "quickdraw" / "dog.npy"
        assert f"(the data directory is not writable, so the download goes to {target})" in message
        assert files == ["cat.npy"]  # nothing written
        no_download = QuickDrawDataModule(categories=["dog"], data_dir=data, cache_dir=cache_dir, download=False)
        with pytest.raises(FileNotFoundError, match="data.download is false"):
            no_download.setup()
    finally:
        for folder in (data, data / "quickdraw"):
            folder.chmod(0o755)


def test_dog_missing_from_writable_data_names_download_remedy(tmp_path, cache_dir, write_npy):
    """A writable data folder without dog.npy, network unreachable: the remedy is to download it there."""
    data = tmp_path / "data"
    write_npy(data / "quickdraw" / "cat.npy", np.zeros((10, 784), np.uint8))
    assert is_writable_dir(data / "quickdraw")
    message, files = missing_dog(data, cache_dir)
    assert "not writable" not in message
    assert (
        f"Provide it by downloading http://127.0.0.1:9/quickdraw/dog.npy into {data / 'quickdraw'}/ "
        f"(or into {cache_dir / 'quickdraw'}/)"
    ) in message
    assert files == ["cat.npy"]  # no partial download left
    assert not cache_dir.exists()


def test_unknown_and_empty_categories():
    with pytest.raises(ValueError, match=r"unknown Quick, Draw! category 'dgo' \(did you mean 'dragon', 'dog'\?\)"):
        QuickDrawDataModule(categories=["cat", "dgo"])
    with pytest.raises(ValueError, match="data.categories is empty"):
        QuickDrawDataModule(categories=[])


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((10, 28, 28), np.uint8), r"got shape \(10, 28, 28\) dtype uint8; expected Google's numpy bitmap"),
        (np.zeros((10, 784), np.float32), r"got shape \(10, 784\) dtype float32; expected .* \(N, 784\) uint8"),
        (np.zeros((10, 100), np.uint8), r"got shape \(10, 100\) dtype uint8"),
    ],
)
def test_wrong_shape_or_dtype(tmp_path, write_npy, array, message):
    path = write_npy(tmp_path / "quickdraw" / "cat.npy", array)
    with pytest.raises(ValueError, match=rf"{path}: {message}"):
        QuickDrawDataModule(categories=["cat"], data_dir=tmp_path).setup()


def test_truncated_and_non_numpy_files(tmp_path, write_npy):
    path = write_npy(tmp_path / "quickdraw" / "cat.npy", np.zeros((10, 784), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=rf"{path}: 7868 bytes, but its header announces 10 rows \(7968 bytes\)"):
        QuickDrawDataModule(categories=["cat"], data_dir=tmp_path).setup()
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match=rf"{path} is not a readable .npy file"):
        QuickDrawDataModule(categories=["cat"], data_dir=tmp_path).setup()


@pytest.mark.parametrize(("key", "value"), [("val_fraction", 0.0), ("test_fraction", 1.2)])
def test_fraction_outside_unit_interval(key, value):
    with pytest.raises(ValueError, match=rf"data.{key} must lie in \(0, 1\), got {value}"):
        QuickDrawDataModule(categories=["cat"], **{key: value})
