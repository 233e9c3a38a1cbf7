"""LightningDataModules: one per dataset, sharing :class:`DrawDataModule`."""

from draw_lightning.data.base import DrawDataModule, resolve_data_dir
from draw_lightning.data.quickdraw import QuickDrawDataModule

__all__ = ["DrawDataModule", "QuickDrawDataModule", "resolve_data_dir"]
