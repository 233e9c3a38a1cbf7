"""InputCheck: bad data fails at fit start, naming the split, the value and what was expected."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from draw_lightning.callbacks import InputCheck


class CountSteps(L.Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_train_batch_start(self, *args) -> None:
        self.batches += 1


@pytest.mark.parametrize(
    ("train", "val", "message"),
    [
        (
            torch.rand(8, 1, 8, 8) * 255,
            torch.rand(4, 1, 8, 8),
            r"first train batch: DRAW's Bernoulli likelihood needs pixel values in \[0, 1\], got min .*, max 2\d\d",
        ),
        (
            torch.rand(8, 1, 8, 8),
            torch.rand(4, 3, 8, 8),
            r"first val batch: DRAW expects images of shape .* = \(batch, 1, 8, 8\), got \(4, 3, 8, 8\)",
        ),
        (
            torch.rand(8, 1, 8, 8),
            torch.rand(4, 1, 8, 7),
            r"first val batch: .*= \(batch, 1, 8, 8\), got \(4, 1, 8, 7\)",
        ),
        (
            torch.randint(0, 2, (8, 1, 8, 8)),
            torch.rand(4, 1, 8, 8),
            r"first train batch: DRAW expects floating-point images in \[0, 1\], got dtype torch.int64",
        ),
        (
            torch.rand(8, 1, 8, 8).index_fill_(3, torch.tensor([0]), float("nan")),
            torch.rand(4, 1, 8, 8),
            r"first train batch: images must be finite numbers in \[0, 1\], got nan at index \[0, 0, 0, 0\]",
        ),
    ],
    ids=["range", "channels", "width", "dtype", "nan"],
)
def test_bad_batch_fails_before_any_step(tmp_path, tiny_model_and_data, make_trainer, train, val, message) -> None:
    model, data = tiny_model_and_data(train=torch.rand(8, 1, 8, 8), val=torch.rand(4, 1, 8, 8))
    data.train_images, data.val_images = train, val
    counter = CountSteps()
    trainer = make_trainer(tmp_path, max_epochs=1, callbacks=[InputCheck(), counter], logger=False)
    with pytest.raises(ValueError, match=message):
        trainer.fit(model, datamodule=data)
    assert counter.batches == 0 and trainer.global_step == 0


def test_good_data_passes(tmp_path, tiny_model_and_data, make_trainer) -> None:
    model, data = tiny_model_and_data(train=torch.rand(8, 1, 8, 8), val=torch.rand(4, 1, 8, 8))
    counter = CountSteps()
    make_trainer(tmp_path, max_epochs=1, callbacks=[InputCheck(), counter], logger=False).fit(model, datamodule=data)
    assert counter.batches == 2
