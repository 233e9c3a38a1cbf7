"""NonFiniteGuard with a real Trainer: NaN pixels and a huge learning rate make the loss NaN."""

from __future__ import annotations

import csv

import lightning as L
import pytest
import torch

from draw_lightning.callbacks import NonFiniteGuard


def images_with_nan(count: int, *, nan_at: int) -> torch.Tensor:
    """Images in [0, 1] with one NaN pixel in image ``nan_at``: it passes DRAW's range check,
    since every comparison with NaN is false."""
    images = torch.rand(count, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    images[nan_at, 0, 3, 3] = float("nan")
    return images


class RecordSteps(L.Callback):
    """Per training batch: whether it held a NaN, and whether the weights changed."""

    def __init__(self) -> None:
        self.records: list[tuple[bool, bool]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._before = [p.detach().clone() for p in pl_module.parameters()]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        changed = any(not torch.equal(a, p) for a, p in zip(self._before, pl_module.parameters(), strict=True))
        self.records.append((bool(torch.isnan(batch[0]).any()), changed))


def test_skip_leaves_weights_and_optimizer_state_untouched_and_logs_the_count(
    tmp_path, tiny_model_and_data, make_trainer
) -> None:
    model, data = tiny_model_and_data(train=images_with_nan(16, nan_at=5), val=torch.rand(4, 1, 8, 8))
    guard, record = NonFiniteGuard(on_nonfinite="skip"), RecordSteps()
    logger = L.pytorch.loggers.CSVLogger(tmp_path, name="csv", version="")
    trainer = make_trainer(tmp_path, max_epochs=2, callbacks=[guard, record], logger=logger, log_every_n_steps=1)
    trainer.fit(model, datamodule=data)

    # One NaN image: one bad batch per epoch (4 batches each), whatever the shuffle.
    assert [had_nan for had_nan, _ in record.records].count(True) == 2
    assert all(changed != had_nan for had_nan, changed in record.records)
    assert guard.skipped_steps == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())
    # Adam counted only the applied steps.
    adam_steps = {int(s["step"]) for s in trainer.optimizers[0].state.values()}
    assert adam_steps == {8 - 2}
    with (tmp_path / "csv" / "metrics.csv").open() as f:
        logged = [float(r["train/skipped_steps"]) for r in csv.DictReader(f) if r.get("train/skipped_steps")]
    assert logged[-1] == 2.0 and logged == sorted(logged)


def test_stop_names_the_step_and_the_loss(tmp_path, tiny_model_and_data, make_trainer) -> None:
    # Only images 0-3 are clean, so the first batch that holds any other image is NaN.
    train = images_with_nan(16, nan_at=0)
    train[4:, 0, 3, 3] = float("nan")
    train[0, 0, 3, 3] = 0.5
    model, data = tiny_model_and_data(train=train, val=torch.rand(4, 1, 8, 8))
    trainer = make_trainer(tmp_path, max_epochs=1, callbacks=[NonFiniteGuard(on_nonfinite="stop")], logger=False)
    with pytest.raises(FloatingPointError, match=r"non-finite loss \(nan\) at global step \d+") as err:
        trainer.fit(model, datamodule=data)
    step = int(str(err.value).split("global step ")[1].split(";")[0])
    assert trainer.global_step == step  # stopped before that optimiser step was applied
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_stop_after_a_huge_learning_rate_blows_the_weights_up(tmp_path, tiny_model_and_data, make_trainer) -> None:
    model, data = tiny_model_and_data(train=torch.rand(16, 1, 8, 8), val=torch.rand(4, 1, 8, 8), lr=1e30)
    trainer = make_trainer(
        tmp_path, max_epochs=1, callbacks=[NonFiniteGuard(on_nonfinite="stop")], logger=False, gradient_clip_val=None
    )
    with pytest.raises(FloatingPointError, match=r"non-finite (loss|gradient of net\.\S+).* at global step 1;"):
        trainer.fit(model, datamodule=data)


def test_unknown_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"on_nonfinite must be one of \('skip', 'stop'\), got 'ignore'"):
        NonFiniteGuard(on_nonfinite="ignore")
