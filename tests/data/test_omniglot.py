import zipfile

import numpy as np
import pytest

from draw_lightning.data import OmniglotDataModule


@pytest.fixture(scope="module")
def omniglot(data_dir, tmp_path_factory):
    dm = OmniglotDataModule(data_dir=data_dir, cache_dir=tmp_path_factory.mktemp("cache"), download=False)
    dm.setup()
    return dm


def test_small_background_sets(omniglot):
    sizes = {k: len(v) for k, v in omniglot.splits.items()}
    assert sum(sizes.values()) == 2720 + 3120
    assert sizes["val"] == sizes["test"] == 584
    train = omniglot.splits["train"]
    labels = train.labels  # all images, every split
    assert labels.max() + 1 == 136 + 156  # characters of small1 + small2
    assert set(np.bincount(labels).tolist()) == {20}  # 20 drawers per character
    x, _ = train[0]
    assert x.shape == (1, 28, 28) == omniglot.image_shape
    assert x.min() >= 0 and x.max() <= 1
    images = train.images.astype(np.float32) / 255
    assert 0.02 < images.mean() < 0.3  # strokes bright on a dark background
    assert len(np.unique(images[:50])) > 2  # resizing gives grey levels


def test_split_deterministic(omniglot, data_dir, tmp_path):
    again = OmniglotDataModule(
        data_dir=data_dir, cache_dir=tmp_path, subsets=["images_background_small2"], download=False, seed=0
    )
    again.setup()
    assert len(again.splits["train"].images) == 3120
    assert again.splits["train"].labels.max() + 1 == 156


def test_missing_and_bad_archives(tmp_path):
    dm = OmniglotDataModule(data_dir=tmp_path, cache_dir=tmp_path / "cache", download=False)
    with pytest.raises(FileNotFoundError, match=r"images_background_small1.zip.*data.download is false"):
        dm.setup()
    (tmp_path / "omniglot").mkdir()
    (tmp_path / "omniglot" / "images_background_small1.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"Omniglot archive .*images_background_small1.zip: File is not a zip file"):
        OmniglotDataModule(data_dir=tmp_path, subsets=["images_background_small1"]).setup()
    with zipfile.ZipFile(tmp_path / "omniglot" / "empty.zip", "w") as archive:
        archive.writestr("empty/readme.txt", "nothing")
    with pytest.raises(ValueError, match=r"empty.zip holds no .png images"):
        OmniglotDataModule(data_dir=tmp_path, subsets=["empty"]).setup()
