"""Shared fixtures: the real data folder, a tiny DRAW configuration, a runner for the CLI, and
one short real training run (CSV, TensorBoard and W&B offline) whose files many tests reuse."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from torch.utils.data import Dataset, TensorDataset

from draw_lightning.configs import CONFIG_DIR, setup_hydra
from draw_lightning.data import DrawDataModule
from draw_lightning.lightning_modules import DRAWLitModule

REPO_ROOT = REPO_DIR = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("DRAW_DATA_DIR") or REPO_ROOT.parent / "shared" / "data").resolve()
# Every test process (and subprocess it starts) reads data from the same place; W&B never
# reaches for the network from a test.
os.environ["DRAW_DATA_DIR"] = str(DATA_DIR)
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# trainer=auto (train's default) runs one process per core on a CPU-only machine; tests that want
# several processes ask for trainer=ddp_sim.
os.environ["DRAW_CPU_PROCESSES"] = "1"

# One thread per process: on a loaded 2-core machine two OpenMP threads spin against other
# processes and a small DRAW step takes seconds instead of a fraction of one.
THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
os.environ.update(THREADS_ENV)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    torch.set_num_threads(1)


# The one tiny DRAW of the tests (T = 3, a few-second run), as DRAWConfig fields; a test that needs
# another value writes ``{**TINY_NET, "num_steps": 4}`` and says why.
TINY_NET = {"num_steps": 3, "enc_hidden": 16, "dec_hidden": 16, "z_dim": 4, "read_n": 2, "write_n": 3}


def tiny_model(**changes) -> list[str]:
    """TINY_NET, with ``changes``, as ``model.net.*`` overrides of a train config; a field changed
    to None is left out (the config's own value stays)."""
    return [f"model.net.{k}={v}" for k, v in {**TINY_NET, **changes}.items() if v is not None]


# Overrides that shrink any model config to a few-second run.
TINY_MODEL = tiny_model()


# A tiny run that logs every step and checkpoints often: what the kill/resume tests start and stop.
# Each adds its data size, checkpoint interval (+callbacks.finite_model_checkpoint.every_n_train_steps)
# and loggers.
KILLABLE_RUN = (
    *TINY_MODEL,
    "data.batch_size=16",
    "trainer.accelerator=cpu",
    "trainer.log_every_n_steps=1",
    "trainer.limit_val_batches=2",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
    "extras.print_config=false",
    "test=false",
)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "quickdraw" / "cat.npy").is_file():
        pytest.fail(f"real datasets not found in {DATA_DIR}: set DRAW_DATA_DIR to shared/data")
    return DATA_DIR


class TensorImages(DrawDataModule):
    """A datamodule over given image tensors (train and val), for exact control of the data."""

    def __init__(self, *, train: torch.Tensor, val: torch.Tensor, batch_size: int) -> None:
        super().__init__(batch_size=batch_size)
        self.train_images, self.val_images = train, val

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])

    def build_splits(self) -> dict[str, Dataset]:
        return {
            "train": TensorDataset(self.train_images),
            "val": TensorDataset(self.val_images),
            "test": TensorDataset(self.val_images),
        }


@pytest.fixture
def tiny_model_and_data():
    """``make(train=..., val=..., lr=...)`` -> (DRAWLitModule, TensorImages) for 8x8 images."""

    def make(*, train: torch.Tensor, val: torch.Tensor, batch_size: int = 4, lr: float = 1e-2, net=None):
        data = TensorImages(train=train, val=val, batch_size=batch_size)
        model = DRAWLitModule(
            image_shape=(1, 8, 8),
            net=net or TINY_NET,
            optimizer={"_target_": "torch.optim.Adam", "_partial_": True, "lr": lr},
            scheduler=None,
        )
        return model, data

    return make


def quiet_trainer(root: Path, **kwargs) -> L.Trainer:
    """A CPU Trainer without progress bar or model summary, writing under ``root``."""
    options = dict(
        default_root_dir=root,
        accelerator="cpu",
        devices=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
    )
    options.update(kwargs)
    return L.Trainer(**options)


@pytest.fixture
def make_trainer():
    return quiet_trainer


def compose_config(
    config_name: str, overrides: Sequence[str] = (), *, root_dir: Path, data_dir: Path | None = None
) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` (train, eval, sample) with ``overrides`` as a single run
    writing under ``root_dir`` (``paths.root_dir``; Hydra's output folder ``root_dir/run``), the
    data read from ``data_dir`` if given (else ``DRAW_DATA_DIR``). Later overrides win.

    Hydra's own config is kept and registered (``HydraConfig``), so ``${hydra:...}`` resolves as in a
    run. GlobalHydra is left as it was found: uninitialised.
    """
    setup_hydra()
    GlobalHydra.instance().clear()
    paths = [f"paths.root_dir={root_dir}", *([f"paths.data_dir={data_dir}"] if data_dir is not None else [])]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name, overrides=[*paths, *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(Path(root_dir) / "run")
        cfg.hydra.runtime.cwd = str(root_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


@pytest.fixture
def compose_task(tmp_path: Path, data_dir: Path) -> Callable[..., DictConfig]:
    """``compose_task(config_name, overrides=())``: :func:`compose_config` writing into ``tmp_path``."""

    def compose_in_tmp_path(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
        return compose_config(config_name, overrides, root_dir=tmp_path, data_dir=data_dir)

    yield compose_in_tmp_path
    GlobalHydra.instance().clear()


@pytest.fixture
def compose_train(compose_task: Callable[..., DictConfig]) -> Callable[..., DictConfig]:
    """``compose_train(overrides=())``: ``train.yaml`` composed by :func:`compose_config` into ``tmp_path``."""

    def compose_train_config(overrides: Sequence[str] = ()) -> DictConfig:
        return compose_task("train", overrides)

    return compose_train_config


# The short training run of the ``trained_run`` fixture: TINY_NET (T = 3), 2 epochs of 20 batches.
TRAINED_RUN = [
    *TINY_MODEL,
    "model.optimizer.lr=3e-3",
    "logger=many",
    "data.batch_size=32",
    "data.max_per_category=1000",
    "trainer.accelerator=cpu",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=20",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "trainer.log_every_n_steps=5",
    "callbacks.canvas_logger.num_samples=4",
    "callbacks.canvas_logger.num_reconstructions=3",
    "callbacks.canvas_logger.max_steps_shown=null",
    "extras.print_config=false",
]


def run_env() -> dict[str, str]:
    """Environment of a subprocess: this checkout's code first, the shared data, W&B offline."""
    # One thread: on a shared CPU, torch's thread pool slows small models many-fold.
    env = dict(os.environ, DRAW_DATA_DIR=str(DATA_DIR), WANDB_MODE="offline", HYDRA_FULL_ERROR="1", **THREADS_ENV)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT / "src"), env.get("PYTHONPATH")) if p)
    env.pop("DRAW_ROOT_DIR", None)
    # A W&B run made in this test process leaves its service's address here; a task started with it
    # would attach to that service instead of starting its own.
    env.pop("WANDB_SERVICE", None)
    return env


def start_task(module: str, *overrides: str, cwd: Path) -> subprocess.Popen:
    """Start ``python -m draw_lightning.<module> overrides`` in ``cwd``, output in ``.stdout``."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", f"draw_lightning.{module}", *overrides],
        cwd=cwd,
        env=run_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_task(
    module: str, *overrides: str, cwd: Path, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``python -m draw_lightning.<module> overrides`` in ``cwd``; with ``check``, fail with its
    output unless it succeeds."""
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", f"draw_lightning.{module}", *overrides],
        cwd=cwd,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert proc.returncode == 0, f"{module} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def only_run_dir(cwd: Path, task: str) -> Path:
    runs = sorted((cwd / "logs" / task / "runs").iterdir())
    assert len(runs) == 1, f"expected one {task} run under {cwd}, found {runs}"
    return runs[0]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Run folder of TRAINED_RUN (TINY_NET, 2 epochs) logging to CSV, TensorBoard and W&B offline."""
    cwd = tmp_path_factory.mktemp("trained")
    run_task("train", *TRAINED_RUN, cwd=cwd)
    return only_run_dir(cwd, "train")


@pytest.fixture(scope="session")
def trained_ckpt(trained_run: Path) -> Path:
    return trained_run / "checkpoints" / "last.ckpt"
