from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from draw_lightning.data import ImageFolderDataModule
from draw_lightning.data.image_folder import CoverResize

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def folder_labels(subset) -> np.ndarray:
    targets = np.asarray(subset.dataset.targets)
    return targets[subset.indices]


def test_cifar10_folder(data_dir):
    dm = ImageFolderDataModule(root=data_dir / "cifar10" / "test", height=32, width=32, channels=3, seed=0)
    dm.setup()
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 8000, "val": 1000, "test": 1000}
    assert dm.splits["train"].dataset.classes == CIFAR10_CLASSES
    labels = np.concatenate([folder_labels(s) for s in dm.splits.values()])
    assert np.bincount(labels).tolist() == [1000] * 10
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (64, 3, 32, 32) and x.min() >= 0 and x.max() <= 1 and x.std() > 0.1
    again = ImageFolderDataModule(root=data_dir / "cifar10" / "test", height=32, width=32, seed=0)
    again.setup()
    assert again.splits["val"].indices == dm.splits["val"].indices
    other = ImageFolderDataModule(root=data_dir / "cifar10" / "test", height=32, width=32, seed=1)
    other.setup()
    assert other.splits["val"].indices != dm.splits["val"].indices


def make_folder(root: Path, *, size: tuple[int, int], per_class: int = 10) -> Path:
    """Two class folders of RGB images ``size`` = (width, height)."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_grey_non_square(tmp_path):
    root = make_folder(tmp_path / "imgs", size=(50, 40))
    dm = ImageFolderDataModule(root=root, height=12, width=30, channels=1, val_fraction=0.2, test_fraction=0.2)
    assert dm.image_shape == (1, 12, 30)
    dm.setup()
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (12, 1, 12, 30) and set(y.tolist()) <= {0, 1}


def test_cover_resize_keeps_aspect_and_crops_centre():
    # a 100 x 50 (W x H) image: left half black, right half white
    pixels = np.zeros((50, 100), np.uint8)
    pixels[:, 50:] = 255
    out = CoverResize(height=20, width=20)(Image.fromarray(pixels))
    assert out.size == (20, 20)
    arr = np.asarray(out)
    assert arr[:, :9].max() == 0 and arr[:, 11:].min() == 255  # centred: the boundary stays in the middle
    wide = CoverResize(height=10, width=40)(Image.fromarray(pixels))
    assert wide.size == (40, 10)


def test_unreadable_image_is_named(tmp_path):
    root = make_folder(tmp_path / "imgs", size=(8, 8))
    bad = root / "b" / "broken.png"
    bad.write_bytes(b"this is not a png")
    dm = ImageFolderDataModule(root=root, height=8, width=8)
    dm.setup()
    folder = dm.splits["train"].dataset
    index = folder.samples.index((str(bad), 1))
    with pytest.raises(ValueError, match=rf"cannot read {bad} as an image"):
        folder[index]


def test_missing_root_and_bad_settings(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"image folder {tmp_path / 'nope'} does not exist"):
        ImageFolderDataModule(root=tmp_path / "nope", height=8, width=8).setup()
    with pytest.raises(ValueError, match="data.channels must be 1 .grey. or 3 .RGB., got 2"):
        ImageFolderDataModule(root=tmp_path, height=8, width=8, channels=2)
    with pytest.raises(ValueError, match=r"data.test_fraction must lie in \(0, 1\), got 1.5"):
        ImageFolderDataModule(root=tmp_path, height=8, width=8, test_fraction=1.5)


def test_values_match_file(tmp_path):
    root = tmp_path / "one" / "c"
    root.mkdir(parents=True)
    pixels = np.random.default_rng(1).integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "x.png")
    dm = ImageFolderDataModule(root=tmp_path / "one", height=6, width=6)
    image, _ = dm.folder()[0]
    assert torch.allclose(image, torch.from_numpy(pixels.transpose(2, 0, 1)).float() / 255)
