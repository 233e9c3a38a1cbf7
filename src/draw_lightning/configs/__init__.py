"""Hydra configuration: where ``conf/`` lives, schemas, and resolvers used by the YAML files."""

from __future__ import annotations

import os
from pathlib import Path

from hydra.types import RunMode
from omegaconf import OmegaConf

from draw_lightning.configs.schema import register_configs, validate

__all__ = [
    "CONFIG_DIR",
    "config_dir",
    "multirun_group",
    "register_configs",
    "setup_hydra",
    "slurm_job_or",
    "validate",
]


def config_dir() -> str:
    """Absolute path of ``conf/``.

    A source checkout's own ``conf/`` (beside ``src/``) comes first, so each checkout uses its
    configs; an installed wheel ships them inside the package as ``draw_lightning/conf``.
    """
    package = Path(__file__).resolve().parents[1]
    candidates = [package.parents[1] / "conf", package / "conf"]
    for path in candidates:
        if (path / "train.yaml").is_file():
            return str(path)
    raise FileNotFoundError(f"draw_lightning: no train.yaml in any of {[str(c) for c in candidates]}")


def multirun_group(mode: RunMode | str, task_name: str, sweep_dir: str) -> str | None:
    """``<task_name>-<sweep folder name>`` in a multirun, shared by all its jobs; None in a single run."""
    if str(getattr(mode, "name", mode)) != RunMode.MULTIRUN.name:
        return None
    return f"{task_name}-{Path(sweep_dir).name}"


# SLURM_JOB_NAME of an interactive allocation (salloc, srun --pty): its runs are not requeued
INTERACTIVE_JOB_NAMES = {"bash", "sh", "zsh", "interactive"}


def slurm_job_or(default: str) -> str:
    """``slurm-<job id>`` (``slurm-<array job id>_<task id>`` in a job array) in a SLURM batch job,
    else ``default``: a requeued job, whose id is unchanged, finds its run folder again.

    An interactive allocation (job name ``bash``, ``interactive`` or the login shell's name) keeps
    ``default``, so the several runs started in it get folders of their own.
    """
    job_id, array_id = os.environ.get("SLURM_JOB_ID"), os.environ.get("SLURM_ARRAY_JOB_ID")
    shell = Path(os.environ.get("SHELL", "")).name
    if not job_id or os.environ.get("SLURM_JOB_NAME", "") in INTERACTIVE_JOB_NAMES | {shell}:
        return default
    if array_id:
        return f"slurm-{array_id}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return f"slurm-{job_id}"


def auto_devices(field: str) -> int | str:
    """``devices`` or ``strategy`` of ``trainer=auto``: the GPU(s) when there are any, else CPU processes.

    Small DRAW steps on a CPU spend much of their time in per-operation overhead that a second
    intra-op thread does not share: two one-thread DDP processes train ~1.9x faster than one
    process with two threads (benchmarks/README.md). ``DRAW_CPU_PROCESSES`` sets the number of
    processes (default: 2 on a machine with 2 or more cores; the tests set 1).
    """
    import torch

    if torch.cuda.is_available():
        return "auto"
    processes = int(os.environ.get("DRAW_CPU_PROCESSES") or min(2, os.cpu_count() or 1))
    if processes < 1:
        raise ValueError(f"DRAW_CPU_PROCESSES must be an integer >= 1, got {processes}")
    if field == "devices":
        return processes
    # spawned, so the Hydra command is not re-run in each process
    return "ddp_spawn" if processes > 1 else "auto"


def setup_hydra() -> None:
    """Register schemas and the resolvers used by ``conf/``.

    ``pid`` keeps runs started in one second apart; it is cached so that a multirun's folder,
    resolved once by the launcher, keeps its name in jobs run by other processes (submitit).
    ``cwd`` is the directory the command started in: unlike ``${hydra:runtime.cwd}`` it
    resolves before Hydra's job config exists, as a multirun's sweep folder must.
    ``slurm_job_or`` names a single run's folder after its SLURM job (:func:`slurm_job_or`).
    ``multirun_group`` names the group of a sweep's runs (``run_group`` in ``train.yaml``).
    ``auto_devices`` chooses devices and strategy of ``trainer=auto`` (:func:`auto_devices`).
    """
    register_configs()
    if not OmegaConf.has_resolver("cwd"):
        OmegaConf.register_new_resolver("cwd", os.getcwd, use_cache=True)
    if not OmegaConf.has_resolver("pid"):
        OmegaConf.register_new_resolver("pid", lambda: str(os.getpid()), use_cache=True)
    if not OmegaConf.has_resolver("slurm_job_or"):
        OmegaConf.register_new_resolver("slurm_job_or", slurm_job_or)
    if not OmegaConf.has_resolver("multirun_group"):
        OmegaConf.register_new_resolver("multirun_group", multirun_group)
    if not OmegaConf.has_resolver("auto_devices"):
        OmegaConf.register_new_resolver("auto_devices", auto_devices, use_cache=True)


CONFIG_DIR = config_dir()
