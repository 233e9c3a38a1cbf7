"""Fashion-MNIST through torchvision, handled exactly like MNIST."""

from torchvision import datasets

from draw_lightning.data.mnist import MNISTDataModule

__all__ = ["FashionMNISTDataModule"]


class FashionMNISTDataModule(MNISTDataModule):
    """torchvision's FashionMNIST: 60k training images split into train/val, 10k test."""

    dataset_cls = datasets.FashionMNIST
