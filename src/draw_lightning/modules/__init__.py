"""Lightning side of draw_lightning: the LightningModule and its metrics."""

from draw_lightning.modules.draw_module import DRAWLitModule

__all__ = ["DRAWLitModule"]
