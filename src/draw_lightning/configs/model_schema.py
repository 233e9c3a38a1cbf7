"""Typed schema of the ``model`` config group (``conf/model/*.yaml``).

DRAW's own options, defaults and checks live in :class:`~draw_lightning.models.DRAWConfig`,
beside the model; this node only places it under ``model.net`` beside the optimisation.
"""

from dataclasses import dataclass, field
from typing import Any

from draw_lightning.models.draw import DRAWConfig

__all__ = ["DrawModelConfig"]


@dataclass
class DrawModelConfig:
    _target_: str = "draw_lightning.lightning_modules.DRAWLitModule"
    # The optimiser and schedule reach the module as configs (kept in checkpoints), built later.
    _recursive_: bool = False
    net: DRAWConfig = field(default_factory=DRAWConfig)
    # A torch.optim class as a Hydra partial (conf/model/optimizer/): checked in configs.validate.
    optimizer: Any = None
    # Lightning's lr_scheduler dict around a torch.optim.lr_scheduler partial (conf/model/scheduler/);
    # null: a constant rate.
    scheduler: Any = None
