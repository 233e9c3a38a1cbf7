import numpy as np
import pytest
import torch

from draw_lightning.data.images import ArrayImageDataset
from draw_lightning.data.samplers import EpochBatch


def grey_images(n: int = 20) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, 1, 5, 6), dtype=np.uint8)


def test_batch_read_equals_item_reads_and_scales_to_unit_interval():
    images = grey_images()
    dataset = ArrayImageDataset(images=images, labels=np.arange(20), rows=np.array([4, 2, 9]))
    batch = dataset.__getitems__([2, 0, 1])
    assert [label for _, label in batch] == [9, 4, 2]
    for (image, label), index in zip(batch, [2, 0, 1], strict=True):
        item_image, item_label = dataset[index]
        assert image.equal(item_image) and label == item_label
    assert torch.allclose(batch[0][0], torch.from_numpy(images[9]).float() / 255)
    with pytest.raises(IndexError, match="out of range for a dataset of 3 images"):
        dataset[3]


def test_threshold_binarization():
    dataset = ArrayImageDataset(images=grey_images(), labels=np.zeros(20), binarization="threshold")
    image, _ = dataset[0]
    assert torch.equal(image, (torch.from_numpy(grey_images()[0]).float() / 255 > 0.5).float())


def test_bernoulli_resampled_each_epoch_only_when_asked():
    images = np.full((4, 1, 28, 28), 102, dtype=np.uint8)  # p = 0.4
    train = ArrayImageDataset(images=images, labels=np.zeros(4), binarization="bernoulli", resample_each_epoch=True)
    fixed = ArrayImageDataset(images=images, labels=np.zeros(4), binarization="bernoulli", stream=1)

    def batch(dataset, epoch):
        return torch.stack([x for x, _ in dataset.__getitems__(EpochBatch([0, 1, 2, 3], epoch))])

    e0, e1 = batch(train, 0), batch(train, 1)
    assert set(e0.unique().tolist()) == {0.0, 1.0}
    assert abs(e0.mean().item() - 0.4) < 0.03
    assert e0.equal(batch(train, 0)) and not e0.equal(e1)
    assert batch(fixed, 0).equal(batch(fixed, 5))
    assert not batch(fixed, 0).equal(e0)  # val/test streams differ from the training stream
    # per image, not per batch: the same image gets the same sample in any batch
    assert batch(train, 1)[2].equal(train.__getitems__(EpochBatch([2], 1))[0][0])
