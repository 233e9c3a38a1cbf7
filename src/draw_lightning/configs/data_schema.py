"""Typed schemas of the ``data`` config group (``conf/data/*.yaml``), one per datamodule."""

from dataclasses import dataclass, field

from draw_lightning.configs.checks import at_least

__all__ = ["DataConfig", "QuickDrawDataConfig", "SplitDataConfig"]


@dataclass
class DataConfig:
    """Keys every datamodule takes (``draw_lightning.data.DrawDataModule``)."""

    _target_: str = "???"
    data_dir: str | None = None
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


@dataclass
class QuickDrawDataConfig(SplitDataConfig):
    _target_: str = "draw_lightning.data.QuickDrawDataModule"
    categories: list[str] = field(default_factory=lambda: ["cat"])
    max_per_category: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.categories:
            raise ValueError("data.categories is empty: name at least one Quick, Draw! category")
        if self.max_per_category is not None:
            at_least("data", "max_per_category", self.max_per_category, 1)
