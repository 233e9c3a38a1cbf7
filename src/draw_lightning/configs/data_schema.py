"""Typed schemas of the ``data`` config group (``conf/data/*.yaml``), one per datamodule."""

from dataclasses import dataclass, field

from draw_lightning.configs.checks import at_least
from draw_lightning.data.quickdraw import QUICKDRAW_URL, check_categories

__all__ = [
    "BinarizedMNISTDataConfig",
    "CIFAR10DataConfig",
    "DataConfig",
    "FashionMNISTDataConfig",
    "ImageFolderDataConfig",
    "MNISTDataConfig",
    "OmniglotDataConfig",
    "QuickDrawDataConfig",
    "SVHNDataConfig",
    "SplitDataConfig",
    "TorchvisionDataConfig",
]


def one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"data.{name} must be one of {allowed}, got {value!r}")


@dataclass
class DataConfig:
    """Keys every datamodule takes (``draw_lightning.data.DrawDataModule``)."""

    _target_: str = "???"
    data_dir: str | None = None
    # downloads when data_dir is not writable, and other derived files; null: ~/.cache/draw_lightning
    cache_dir: str | None = None
    batch_size: int = 64
    eval_batch_size: int | None = None
    num_workers: int = 0
    pin_memory: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        at_least("data", "batch_size", self.batch_size, 1)
        if self.eval_batch_size is not None:
            at_least("data", "eval_batch_size", self.eval_batch_size, 1)
        at_least("data", "num_workers", self.num_workers, 0)
        at_least("data", "seed", self.seed, 0)


@dataclass
class SplitDataConfig(DataConfig):
    """A dataset split train/val/test by fractions."""

    val_fraction: float = 0.1
    test_fraction: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"data.{name} must lie in (0, 1), got {value}")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"data.val_fraction + data.test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}"
            )


@dataclass
class TorchvisionDataConfig(DataConfig):
    """A torchvision dataset with an official test set: ``val_size`` training images held out."""

    val_size: int = 10_000
    # fetch missing files when the network allows (into data_dir if writable, else cache_dir)
    download: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least("data", "val_size", self.val_size, 1)


@dataclass
class MNISTDataConfig(TorchvisionDataConfig):
    _target_: str = "draw_lightning.data.MNISTDataModule"


@dataclass
class FashionMNISTDataConfig(TorchvisionDataConfig):
    _target_: str = "draw_lightning.data.FashionMNISTDataModule"


@dataclass
class CIFAR10DataConfig(TorchvisionDataConfig):
    _target_: str = "draw_lightning.data.CIFAR10DataModule"
    val_size: int = 5_000


@dataclass
class SVHNDataConfig(TorchvisionDataConfig):
    _target_: str = "draw_lightning.data.SVHNDataModule"
    val_size: int = 5_000
    use_extra: bool = False


@dataclass
class BinarizedMNISTDataConfig(TorchvisionDataConfig):
    _target_: str = "draw_lightning.data.BinarizedMNISTDataModule"
    binarization: str = "static"

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of("binarization", self.binarization, ("static", "dynamic"))


@dataclass
class ImageFolderDataConfig(SplitDataConfig):
    _target_: str = "draw_lightning.data.ImageFolderDataModule"
    root: str = "???"
    height: int = 32
    width: int = 32
    channels: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least("data", "height", self.height, 1)
        at_least("data", "width", self.width, 1)
        if self.channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")


@dataclass
class OmniglotDataConfig(SplitDataConfig):
    _target_: str = "draw_lightning.data.OmniglotDataModule"
    subsets: list[str] = field(default_factory=lambda: ["images_background_small1", "images_background_small2"])
    image_size: int = 28
    download: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.subsets:
            raise ValueError("data.subsets is empty: name at least one Omniglot archive, e.g. images_background_small1")
        at_least("data", "image_size", self.image_size, 1)


@dataclass
class QuickDrawDataConfig(SplitDataConfig):
    _target_: str = "draw_lightning.data.QuickDrawDataModule"
    categories: list[str] = field(default_factory=lambda: ["cat"])
    max_per_category: int | None = None
    # balanced: every category cut to the smallest; natural: all rows of each
    mixing: str = "natural"
    # none (grey levels), threshold (> 1/2) or dynamic (Bernoulli samples, fresh each epoch)
    binarization: str = "none"
    download: bool = True
    download_url: str = QUICKDRAW_URL

    def __post_init__(self) -> None:
        super().__post_init__()
        check_categories(self.categories)
        if self.max_per_category is not None:
            at_least("data", "max_per_category", self.max_per_category, 1)
        one_of("mixing", self.mixing, ("balanced", "natural"))
        one_of("binarization", self.binarization, ("none", "threshold", "dynamic"))
