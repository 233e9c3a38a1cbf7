"""Checkpoints carry a format version; one from a newer format or another model config fails clearly."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from draw_lightning.checkpointing.format import FORMAT_KEY, FORMAT_VERSION
from draw_lightning.lightning_modules import DRAWLitModule


class CountSteps(L.Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_train_batch_start(self, *args) -> None:
        self.batches += 1


@pytest.fixture
def saved(tmp_path, tiny_model_and_data, make_trainer) -> tuple[Path, DRAWLitModule]:
    model, data = tiny_model_and_data(train=torch.rand(8, 1, 8, 8), val=torch.rand(4, 1, 8, 8))
    trainer = make_trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False)
    trainer.fit(model, datamodule=data)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    return path, model


def test_checkpoint_records_the_format_version(saved) -> None:
    path, _ = saved
    assert torch.load(path, weights_only=True)[FORMAT_KEY] == FORMAT_VERSION == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"net": {"write_n": 4}}, r"model\.net\.write_n: checkpoint has 3, this model has 4"),
        ({"net": {"read_attention": False}}, r"model\.net\.read_attention: checkpoint has True, this model has False"),
        ({"image_shape": (1, 8, 9)}, r"image_shape: checkpoint has \[1, 8, 8\], this model has \[1, 8, 9\]"),
        (
            {"optimizer": {"_target_": "torch.optim.RMSprop"}},
            r"model\.optimizer\._target_: checkpoint has 'torch.optim.Adam', this model has 'torch.optim.RMSprop'",
        ),
    ],
    ids=["write_n", "read_attention", "image_shape", "optimizer"],
)
def test_resume_with_another_model_config_fails_before_training(
    saved, tmp_path, tiny_model_and_data, make_trainer, change, message
) -> None:
    path, model = saved
    hparams = {k: (dict(v) if isinstance(v, dict) else v) for k, v in model.hparams.items()}
    for key, value in change.items():
        hparams[key] = {**hparams[key], **value} if isinstance(value, dict) else value
    other = DRAWLitModule(**hparams)
    _, data = tiny_model_and_data(train=torch.rand(8, *other.hparams.image_shape), val=torch.rand(4, 1, 8, 8))
    counter = CountSteps()
    trainer = make_trainer(tmp_path / "resume", max_epochs=2, logger=False, callbacks=[counter])
    with pytest.raises(ValueError, match=rf"checkpoint was written by a different model config:\n  {message}"):
        trainer.fit(other, datamodule=data, ckpt_path=path)
    assert counter.batches == 0


def test_newer_format_is_refused_by_load_and_resume(saved, tmp_path) -> None:
    path, _ = saved
    checkpoint = torch.load(path, weights_only=True)
    checkpoint[FORMAT_KEY] = FORMAT_VERSION + 1
    newer = tmp_path / "newer.ckpt"
    torch.save(checkpoint, newer)
    with pytest.raises(
        ValueError, match=r"checkpoint format 2 is newer than this draw_lightning reads \(format <= 1\)"
    ):
        DRAWLitModule.load_from_checkpoint(newer)


def test_unversioned_checkpoint_of_the_same_model_loads(saved, tmp_path) -> None:
    path, model = saved
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint[FORMAT_KEY]
    old = tmp_path / "old.ckpt"
    torch.save(checkpoint, old)
    loaded = DRAWLitModule.load_from_checkpoint(old)
    for (name, value), (_, expected) in zip(loaded.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(value, expected), name
