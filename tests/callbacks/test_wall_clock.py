"""WallClock: training time as a metric, continued across a resume through the checkpoint."""

from __future__ import annotations

import time

import lightning as L
import torch

from draw_lightning.callbacks import WallClock


def test_a_resumed_clock_continues_from_the_checkpoint_and_not_from_zero() -> None:
    clock = WallClock()
    clock.load_state_dict({"elapsed_s": 100.0})  # what the killed run had trained
    assert clock.elapsed() == 100.0  # nothing counted before fit starts (e.g. the time since the kill)
    clock.on_train_start(None, None)
    time.sleep(0.05)
    assert 100.04 < clock.elapsed() < 101.0
    assert clock.state_dict()["elapsed_s"] > 100.04


def test_every_training_step_logs_its_elapsed_time(make_trainer, tiny_model_and_data, tmp_path) -> None:
    model, data = tiny_model_and_data(train=torch.rand(12, 1, 8, 8), val=torch.rand(4, 1, 8, 8))
    clock = WallClock()
    seen = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            seen.append(float(trainer.callback_metrics["time/elapsed_s"]))

    make_trainer(tmp_path, max_epochs=1, callbacks=[clock, Record()], logger=False).fit(model, datamodule=data)
    assert len(seen) == 3 and seen == sorted(seen) and seen[0] > 0
    assert clock.state_dict()["elapsed_s"] >= seen[-1]
