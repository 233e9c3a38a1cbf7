"""Registration of the typed schemas and the range checks run before anything is built.

The YAML files of ``conf/model`` and ``conf/data`` list a schema first in their defaults
(``- /mnist_schema@_here_``), so a wrong type or an unknown key fails at composition naming the
key. The schemas are stored outside the config groups, so ``--help`` does not offer them as
options. Range checks run in the dataclasses' ``__post_init__`` when :func:`validate` turns the
config into objects.
"""

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from draw_lightning.configs.data_schema import (
    BinarizedMNISTDataConfig,
    CIFAR10DataConfig,
    FashionMNISTDataConfig,
    ImageFolderDataConfig,
    MNISTDataConfig,
    OmniglotDataConfig,
    QuickDrawDataConfig,
    SVHNDataConfig,
)
from draw_lightning.configs.model_schema import DrawModelConfig
from draw_lightning.lightning_modules.optim import check_optimization

__all__ = ["register_configs", "validate"]

# (name, schema): the configs of conf/model and conf/data start with `defaults: [/<name>@_here_, ...]`.
SCHEMAS = [
    ("draw_schema", DrawModelConfig),
    ("mnist_schema", MNISTDataConfig),
    ("binarized_mnist_schema", BinarizedMNISTDataConfig),
    ("fashion_mnist_schema", FashionMNISTDataConfig),
    ("svhn_schema", SVHNDataConfig),
    ("cifar10_schema", CIFAR10DataConfig),
    ("image_folder_schema", ImageFolderDataConfig),
    ("omniglot_schema", OmniglotDataConfig),
    ("quickdraw_schema", QuickDrawDataConfig),
]


def register_configs() -> None:
    """Store the schemas at the root of the config search path, where ``conf/model/*.yaml`` and
    ``conf/data/*.yaml`` find them (``/<name>@_here_``) and no config group lists them."""
    store = ConfigStore.instance()
    for name, node in SCHEMAS:
        store.store(name=name, node=node)


def validate(cfg: DictConfig) -> None:
    """Run the schemas' range checks on ``cfg.model`` and ``cfg.data`` (typed nodes only), and
    build the optimiser and schedule on a dummy parameter (:func:`check_optimization`)."""
    for key in ("model", "data"):
        node = cfg.get(key)
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) not in (dict, None):
            OmegaConf.to_object(node)
    model = cfg.get("model")
    if isinstance(model, DictConfig) and "optimizer" in model:
        check_optimization(
            OmegaConf.to_container(model.optimizer, resolve=True),
            OmegaConf.to_container(model.scheduler, resolve=True) if model.get("scheduler") else None,
        )
