import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from draw_lightning.data.images import ArrayImageDataset
from draw_lightning.data.samplers import EpochBatch, EpochBatchSampler, EpochShuffleSampler


def test_shuffle_is_a_permutation_fixed_by_seed_and_epoch():
    sampler = EpochShuffleSampler(100, seed=5)
    first = list(sampler)
    assert sorted(first) == list(range(100))
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(EpochShuffleSampler(100, seed=6)) != first


def test_batches_carry_the_samplers_epoch():
    sampler = EpochShuffleSampler(10, seed=0)
    sampler.set_epoch(7)
    batches = list(EpochBatchSampler(sampler, batch_size=4, drop_last=False))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert all(isinstance(b, EpochBatch) and b.epoch == 7 for b in batches)


def test_epoch_reaches_worker_processes():
    """Bernoulli samples differ by epoch even when a worker process reads the batch."""
    images = np.full((8, 1, 4, 4), 128, dtype=np.uint8)
    dataset = ArrayImageDataset(
        images=images, labels=np.zeros(8), binarization="bernoulli", seed=0, resample_each_epoch=True
    )
    sampler = EpochShuffleSampler(8, seed=0)
    batch_sampler = EpochBatchSampler(sampler, batch_size=8, drop_last=False)
    loader = DataLoader(dataset, batch_sampler=batch_sampler, num_workers=1)
    seen = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        x, _ = next(iter(loader))
        indices = next(iter(batch_sampler))
        expected = torch.stack([image for image, _ in dataset.__getitems__(EpochBatch(indices, epoch))])
        assert x.equal(expected)
        seen.append(x[np.argsort(indices)])
    assert not seen[0].equal(seen[1])


def test_resumed_pass_yields_the_remaining_samples_once():
    full = list(EpochShuffleSampler(50, seed=3, epoch=2))
    resumed = EpochShuffleSampler(50, seed=3, epoch=2, start=16)
    assert len(resumed) == 50  # Lightning counts batches of the whole epoch
    assert list(resumed) == full[16:]
    assert list(resumed) == full  # the next pass of the same epoch is whole again
    resumed = EpochShuffleSampler(50, seed=3, epoch=2, start=16)
    resumed.set_epoch(3)  # a skip never carries into another epoch
    assert len(list(resumed)) == 50


def test_start_outside_the_epoch_is_rejected():
    with pytest.raises(ValueError, match=r"start must lie in \[0, 50\], got 51"):
        EpochShuffleSampler(50, seed=0, start=51)
