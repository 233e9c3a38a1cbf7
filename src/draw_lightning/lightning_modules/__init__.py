"""LightningModules: training, evaluation metrics and optimisation around the plain-torch models
of :mod:`draw_lightning.models`."""

from draw_lightning.lightning_modules.draw_module import DRAWLitModule

__all__ = ["DRAWLitModule"]
