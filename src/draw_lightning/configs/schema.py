"""Typed schemas (structured configs) for the model and data groups.

Registered in Hydra's ConfigStore; the YAML files of ``conf/model`` and ``conf/data`` list them
first in their defaults, so a wrong type or an unknown key fails at composition naming the key.
Range checks run in ``__post_init__`` when :func:`validate` turns the config into objects,
before anything is built.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

__all__ = ["DrawModelConfig", "NetConfig", "QuickDrawDataConfig", "register_configs", "validate"]


def _at_least(owner: str, name: str, value: Any, minimum: float) -> None:
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")


@dataclass
class NetConfig:
    """DRAW's architecture (keywords of ``draw_lightning.models.DRAW``)."""

    num_steps: int = 64
    enc_hidden: int = 256
    dec_hidden: int = 256
    z_dim: int = 100
    read_attention: bool = True
    write_attention: bool = True
    read_n: int = 2
    write_n: int = 5

    def __post_init__(self) -> None:
        for name in ("num_steps", "enc_hidden", "dec_hidden", "z_dim", "read_n", "write_n"):
            _at_least("model.net", name, getattr(self, name), 1)


@dataclass
class OptimizerConfig:
    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in ("adam", "adamw", "rmsprop"):
            raise ValueError(f"model.optimizer.name must be adam, adamw or rmsprop, got {self.name!r}")
        if not self.lr > 0:
            raise ValueError(f"model.optimizer.lr must be > 0, got {self.lr}")
        _at_least("model.optimizer", "weight_decay", self.weight_decay, 0)


@dataclass
class DrawModelConfig:
    _target_: str = "draw_lightning.modules.DRAWLitModule"
    net: NetConfig = field(default_factory=NetConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    # ``name`` (none, cosine, step, exponential, plateau) and that scheduler's keywords.
    scheduler: Optional[Dict[str, Any]] = None


@dataclass
class DataConfig:
    """Keys every datamodule takes (``draw_lightning.data.DrawDataModule``)."""

    _target_: str = "???"
    data_dir: Optional[str] = None
    batch_size: int = 64
    eval_batch_size: Optional[int] = None
    num_workers: int = 0
    pin_memory: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        _at_least("data", "batch_size", self.batch_size, 1)
        if self.eval_batch_size is not None:
            _at_least("data", "eval_batch_size", self.eval_batch_size, 1)
        _at_least("data", "num_workers", self.num_workers, 0)


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
    categories: List[str] = field(default_factory=lambda: ["cat"])
    max_per_category: Optional[int] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.categories:
            raise ValueError("data.categories is empty: name at least one Quick, Draw! category")
        if self.max_per_category is not None:
            _at_least("data", "max_per_category", self.max_per_category, 1)


def register_configs() -> None:
    """Store the schemas where ``conf/model/*.yaml`` and ``conf/data/*.yaml`` find them."""
    store = ConfigStore.instance()
    store.store(group="model", name="draw_schema", node=DrawModelConfig)
    store.store(group="data", name="quickdraw_schema", node=QuickDrawDataConfig)


def validate(cfg: DictConfig) -> None:
    """Run the schemas' range checks on ``cfg.model`` and ``cfg.data`` (typed nodes only)."""
    for key in ("model", "data"):
        node = cfg.get(key)
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) not in (dict, None):
            OmegaConf.to_object(node)
