"""Typed schema of the ``model`` config group (``conf/model/*.yaml``)."""

from dataclasses import dataclass, field

from draw_lightning.configs.checks import at_least
from draw_lightning.models.draw import WINDOW_INITS

__all__ = ["DrawModelConfig", "NetConfig", "OptimizerConfig", "SchedulerConfig"]


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
    # tile: attention grids start tiling the image | paper: the literal zero bias (collapses on MNIST)
    window_init: str = "tile"
    # Speed/memory options of the same model (benchmarks/README.md has the measurements).
    compile_step: bool = False
    checkpoint_steps: bool = False

    def __post_init__(self) -> None:
        for name in ("num_steps", "enc_hidden", "dec_hidden", "z_dim", "read_n", "write_n"):
            at_least("model.net", name, getattr(self, name), 1)
        if self.window_init not in WINDOW_INITS:
            raise ValueError(
                f"model.net.window_init must be one of {', '.join(WINDOW_INITS)}, got {self.window_init!r}"
            )


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
        at_least("model.optimizer", "weight_decay", self.weight_decay, 0)


@dataclass
class SchedulerConfig:
    """Learning-rate schedule; only the keys of the chosen ``name`` are used."""

    name: str = "none"  # none | cosine | step | exponential | plateau
    t_max: int | None = None  # cosine: steps to anneal over (default: the trainer's max_steps)
    eta_min: float = 0.0  # cosine
    step_size: int = 10  # step: epochs between decays
    gamma: float = 0.5  # step, exponential: decay factor
    factor: float = 0.5  # plateau
    patience: int = 5  # plateau: epochs without improvement of val/loss

    def __post_init__(self) -> None:
        names = ("none", "cosine", "step", "exponential", "plateau")
        if self.name not in names:
            raise ValueError(f"model.scheduler.name must be one of {', '.join(names)}; got {self.name!r}")
        if not 0 < self.gamma <= 1 or not 0 < self.factor < 1:
            raise ValueError(f"model.scheduler.gamma and factor must lie in (0, 1], got {self.gamma}, {self.factor}")


@dataclass
class DrawModelConfig:
    _target_: str = "draw_lightning.modules.DRAWLitModule"
    net: NetConfig = field(default_factory=NetConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
