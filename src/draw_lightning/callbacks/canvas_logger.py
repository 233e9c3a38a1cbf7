"""Log DRAW's canvases and attention windows every N epochs, on the same z and the same images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from draw_lightning.data.batches import batch_images
from draw_lightning.tracking.media import log_gif, log_image, media_path
from draw_lightning.viz import generation_figures, reconstruction_figure, write_gif

__all__ = ["CanvasLogger"]


class CanvasLogger(L.Callback):
    """After validation every ``every_n_epochs`` epochs, logs under ``<prefix>/``:

    ``generation``: rows = prior samples (fixed noise from ``seed``), columns = time steps, write
    box on each canvas; ``reconstruction``: the first validation images with the read box, above
    the canvases with the write box; ``generation_video``: a GIF of the generation (one frame per
    step, file in ``image_dir``). ``max_steps_shown`` limits the grid columns when T is large.
    """

    def __init__(
        self,
        *,
        image_dir: str,
        every_n_epochs: int = 1,
        num_samples: int = 8,
        num_reconstructions: int = 8,
        max_steps_shown: int | None = 16,
        scale: int = 2,
        gif: bool = True,
        seed: int = 0,
        prefix: str = "canvas",
    ) -> None:
        super().__init__()
        for name, value in dict(every_n_epochs=every_n_epochs, num_samples=num_samples, scale=scale).items():
            if value < 1:
                raise ValueError(f"callbacks.canvas_logger.{name} must be >= 1, got {value}")
        if num_reconstructions < 0:
            raise ValueError(f"callbacks.canvas_logger.num_reconstructions must be >= 0, got {num_reconstructions}")
        self.image_dir = Path(image_dir)
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.num_reconstructions = num_reconstructions
        self.max_steps_shown = max_steps_shown
        self.scale = scale
        self.gif = gif
        self.seed = seed
        self.prefix = prefix
        self.noise: Tensor | None = None  # fixed z for generation, (T, num_samples, z_dim)
        self.val_images: Tensor | None = None  # fixed validation images, kept on the CPU
        self._last_epoch: int | None = None

    def fixed_noise(self, pl_module: L.LightningModule) -> Tensor:
        """The prior noise used at every epoch, drawn once from ``seed``."""
        if self.noise is None:
            net = pl_module.net
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(net.num_steps, self.num_samples, net.z_dim, generator=generator)
        return self.noise

    def on_validation_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self.val_images is None and batch_idx == 0 and self.num_reconstructions > 0:
            images = batch_images(batch)
            self.val_images = images[: self.num_reconstructions].detach().cpu().clone()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch
        if trainer.sanity_checking or not trainer.is_global_zero or epoch % self.every_n_epochs:
            return
        if self._last_epoch == epoch:  # several validations in one epoch: log the first
            return
        self._last_epoch = epoch
        self.log_canvases(trainer, pl_module)

    def log_canvases(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        net = pl_module.net
        device = pl_module.device
        tag = f"epoch_{trainer.current_epoch:03d}"
        step = trainer.global_step
        figures = generation_figures(
            net, noise=self.fixed_noise(pl_module).to(device), max_steps_shown=self.max_steps_shown, scale=self.scale
        )
        loggers = trainer.loggers
        log_image(
            loggers, f"{self.prefix}/generation", figures["sequence"], step=step, tag=tag, image_dir=self.image_dir
        )
        if self.val_images is not None:
            # fixed generator: the same posterior noise at every epoch too
            generator = torch.Generator(device=device).manual_seed(self.seed)
            grid = reconstruction_figure(
                net,
                self.val_images.to(device),
                generator=generator,
                max_steps_shown=self.max_steps_shown,
                scale=self.scale,
            )
            log_image(loggers, f"{self.prefix}/reconstruction", grid, step=step, tag=tag, image_dir=self.image_dir)
        if self.gif:
            key = f"{self.prefix}/generation_video"
            gif = write_gif(figures["frames"], media_path(self.image_dir, key, tag, ".gif"))
            log_gif(loggers, key, gif, step=step)
