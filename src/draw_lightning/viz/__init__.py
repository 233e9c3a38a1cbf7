"""Pictures of DRAW at work: per-step canvas grids, attention boxes, GIFs, KL charts.

Pure functions on tensors (no Lightning, Hydra or W&B): images are uint8 RGB ``(3, H, W)``.
"""

from draw_lightning.viz.boxes import attention_boxes, draw_boxes
from draw_lightning.viz.figures import generation_figures, reconstruction_figure
from draw_lightning.viz.gif import write_gif
from draw_lightning.viz.grids import (
    generation_frames,
    generation_grid,
    reconstruction_grid,
    sample_grid,
    step_indices,
    to_rgb_uint8,
)
from draw_lightning.viz.kl_chart import kl_bar_chart
from draw_lightning.viz.png import write_png

__all__ = [
    "attention_boxes",
    "draw_boxes",
    "generation_figures",
    "generation_frames",
    "generation_grid",
    "kl_bar_chart",
    "reconstruction_figure",
    "reconstruction_grid",
    "sample_grid",
    "step_indices",
    "to_rgb_uint8",
    "write_gif",
    "write_png",
]
