"""FiniteModelCheckpoint: a NaN val/loss never makes a checkpoint "best"."""

from __future__ import annotations

import math

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from draw_lightning.checkpointing import FiniteModelCheckpoint


def nan_validation(tiny_model_and_data):
    val = torch.rand(4, 1, 8, 8)
    val[1, 0, 2, 2] = float("nan")
    return tiny_model_and_data(train=torch.rand(8, 1, 8, 8), val=val)


def test_lightning_alone_keeps_a_nan_model_as_best(tmp_path, tiny_model_and_data, make_trainer) -> None:
    """Why the subclass exists: Lightning records NaN as +inf and saves it while under top-k."""
    model, data = nan_validation(tiny_model_and_data)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/loss", save_top_k=1)
    make_trainer(tmp_path, max_epochs=1, callbacks=[checkpoint], logger=False).fit(model, datamodule=data)
    assert checkpoint.best_model_path and math.isinf(float(checkpoint.best_model_score))


def test_nan_val_loss_is_never_best_but_last_is_written(tmp_path, tiny_model_and_data, make_trainer) -> None:
    model, data = nan_validation(tiny_model_and_data)
    checkpoint = FiniteModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/loss", save_top_k=1, save_last=True)
    trainer = make_trainer(tmp_path, max_epochs=2, callbacks=[checkpoint], logger=False)
    trainer.fit(model, datamodule=data)
    assert math.isnan(float(trainer.callback_metrics["val/loss"]))
    assert checkpoint.best_model_path == "" and checkpoint.best_model_score is None
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["last.ckpt"]


def test_finite_val_loss_is_kept_as_best(tmp_path, tiny_model_and_data, make_trainer) -> None:
    model, data = tiny_model_and_data(train=torch.rand(8, 1, 8, 8), val=torch.rand(4, 1, 8, 8))
    checkpoint = FiniteModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/loss", save_top_k=1)
    make_trainer(tmp_path, max_epochs=1, callbacks=[checkpoint], logger=False).fit(model, datamodule=data)
    assert checkpoint.best_model_path.endswith(".ckpt") and math.isfinite(float(checkpoint.best_model_score))
