"""Check the data against the model before the first step: shape, channels, dtype, [0, 1], finite."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from draw_lightning.data.batches import batch_images

__all__ = ["InputCheck", "check_batch"]


def check_batch(images: torch.Tensor, *, model: Any, where: str) -> None:
    """Raise ValueError naming ``where`` unless ``model.check_images`` accepts ``images`` and they
    are finite (a NaN pixel passes a [0, 1] range check: every comparison with NaN is false)."""
    try:
        model.check_images(images)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    finite = torch.isfinite(images)
    if not bool(finite.all()):
        bad = (~finite).nonzero()[0].tolist()
        raise ValueError(
            f"{where}: images must be finite numbers in [0, 1], got {images[tuple(bad)].item()} at index {bad}"
        )


class InputCheck(L.Callback):
    """At fit start, check the first batch of the train and validation data against the model.

    The model's own check runs inside ``forward``; this one runs before the sanity check and the
    first optimiser step and says which split is wrong. Needs a datamodule and a ``net`` with
    ``check_images`` (DRAW); skipped otherwise.
    """

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule, net = trainer.datamodule, getattr(pl_module, "net", None)
        if datamodule is None or not hasattr(net, "check_images"):
            return
        for split in ("train", "val"):
            loader = getattr(datamodule, f"{split}_dataloader")()
            batch = next(iter(loader), None)
            if batch is None:
                raise ValueError(f"data: the {split} split is empty")
            images = batch_images(batch)
            check_batch(images, model=net, where=f"data ({type(datamodule).__name__}), first {split} batch")
