import pickle

import numpy as np
import pytest
import torch

from draw_lightning.data import QuickDrawDataModule
from draw_lightning.data.quickdraw.bitmaps import BitmapFile, read_bitmap_header


def test_rows_in_any_order_match_numpy(data_dir):
    path = data_dir / "quickdraw" / "cat.npy"
    bitmaps = BitmapFile(path)
    assert len(bitmaps) == 3000
    rows = np.array([2999, 5, 6, 7, 5, 0, 1500])  # runs, duplicates, unsorted
    assert np.array_equal(bitmaps.read(rows), np.load(path)[rows])


def test_fortran_order_and_unknown_version_rejected(tmp_path):
    path = tmp_path / "f.npy"
    np.save(path, np.asfortranarray(np.zeros((4, 784), np.uint8)))
    with pytest.raises(ValueError, match=r"got shape \(4, 784\) dtype uint8, Fortran order"):
        read_bitmap_header(path)
    path.write_bytes(b"\x93NUMPY\x09\x00" + b"\x00" * 100)
    with pytest.raises(ValueError, match=r"not a readable .npy file \(.*version"):
        read_bitmap_header(path)


def test_pickled_copy_opens_its_own_descriptor(data_dir):
    bitmaps = BitmapFile(data_dir / "quickdraw" / "eye.npy")
    bitmaps.read(np.array([0]))
    copy = pickle.loads(pickle.dumps(bitmaps))
    assert copy._fd is None
    assert np.array_equal(copy.read(np.array([3, 1])), bitmaps.read(np.array([3, 1])))


def test_worker_processes_read_the_same_batches(data_dir):
    dm = QuickDrawDataModule(categories=["apple", "diamond"], data_dir=data_dir, batch_size=50)
    dm.setup()
    in_process = list(dm.val_dataloader())
    dm.num_workers = 2
    loader = dm.val_dataloader()
    assert loader.num_workers == 2
    for (x0, y0), (x1, y1) in zip(in_process, loader, strict=True):
        assert torch.equal(x0, x1) and torch.equal(y0, y1)
