"""LightningDataModules: one per dataset, sharing :class:`DrawDataModule`."""

from draw_lightning.data.base import DrawDataModule, resolve_data_dir
from draw_lightning.data.batches import batch_images
from draw_lightning.data.binarized_mnist import BinarizedMNISTDataModule
from draw_lightning.data.cifar10 import CIFAR10DataModule
from draw_lightning.data.fashion_mnist import FashionMNISTDataModule
from draw_lightning.data.image_folder import ImageFolderDataModule
from draw_lightning.data.mnist import MNISTDataModule
from draw_lightning.data.omniglot import OmniglotDataModule
from draw_lightning.data.quickdraw import QuickDrawDataModule
from draw_lightning.data.svhn import SVHNDataModule

__all__ = [
    "BinarizedMNISTDataModule",
    "CIFAR10DataModule",
    "DrawDataModule",
    "FashionMNISTDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "OmniglotDataModule",
    "QuickDrawDataModule",
    "SVHNDataModule",
    "batch_images",
    "resolve_data_dir",
]
