"""What a batch of the datamodules is: ``(images, labels)``, or bare images from a plain tensor set."""

from __future__ import annotations

from typing import Any

from torch import Tensor

__all__ = ["batch_images"]


def batch_images(batch: Any) -> Tensor:
    """The image tensor ``(batch, C, B, A)`` of a batch: the first item of a tuple or list, or the batch itself."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch
