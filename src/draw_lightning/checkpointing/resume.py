"""Finding checkpoints: what ``ckpt_path=auto``, ``ckpt_path=last`` and ``ckpt_path=pretrained:NAME`` mean.

``auto`` (train's default) resumes the run folder's own checkpoint (:func:`own_checkpoint`) and
starts fresh when there is none: a restarted or requeued run that lands in its folder continues.
``last`` takes that file too, else the newest ``last.ckpt`` of the earlier runs of the same
experiment (:class:`SameRuns`), and fails naming every place it looked. ``pretrained:NAME`` is
the weights file shipped as ``draw_lightning/pretrained/NAME.pt`` (found by the caller's ``pretrained``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["LAST_CKPT", "SameRuns", "own_checkpoint", "resolve_ckpt_path"]

log = logging.getLogger(__name__)

# where a run keeps the checkpoint it resumes from, relative to its folder
LAST_CKPT = Path("checkpoints") / "last.ckpt"
# overrides that say how to start, not what is trained: ignored when runs are compared
_START_KEYS = ("ckpt_path",)
_LISTED = 20  # skipped runs named in an error, at most


def _what_is_trained(overrides: Sequence[str]) -> tuple[str, ...]:
    """``overrides`` without those of :data:`_START_KEYS`, sorted."""
    return tuple(sorted(o for o in overrides if o.lstrip("+~").split("=", 1)[0] not in _START_KEYS))


@dataclass(frozen=True)
class SameRuns:
    """The earlier runs ``ckpt_path=last`` may resume: those recording (in ``.hydra/hydra.yaml``)
    the same ``experiment`` choice (None: no experiment) and, when ``overrides`` is given (a
    multirun job), the same command-line overrides apart from ``ckpt_path``. The task is the same
    by construction: only ``logs/<task_name>/`` is searched."""

    experiment: str | None
    overrides: tuple[str, ...] | None = None

    @classmethod
    def of_current_run(cls) -> SameRuns:
        """The runs like this Hydra run; a multirun job also compares its overrides, so each job
        of a sweep run again finds the job with its own parameters."""
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hydra_cfg = HydraConfig.get()
        multirun = hydra_cfg.mode == RunMode.MULTIRUN
        overrides = _what_is_trained(list(hydra_cfg.overrides.task)) if multirun else None
        return cls(experiment=hydra_cfg.runtime.choices.get("experiment"), overrides=overrides)

    def mismatch(self, run: Path) -> str | None:
        """Why ``run`` is not one of these runs, or None when it is."""
        try:
            recorded = yaml.safe_load((run / ".hydra" / "hydra.yaml").read_text())["hydra"]
            experiment = recorded["runtime"]["choices"].get("experiment")
            overrides = list(recorded["overrides"]["task"])
        except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
            return f"no readable .hydra/hydra.yaml ({type(error).__name__})"
        if experiment != self.experiment:
            return f"experiment={experiment}"
        if self.overrides is not None and _what_is_trained(overrides) != self.overrides:
            return f"overrides {list(_what_is_trained(overrides))}"
        return None

    def __str__(self) -> str:
        text = f"experiment={self.experiment}"
        return text if self.overrides is None else f"{text} and overrides {list(self.overrides)}"


def resolve_ckpt_path(
    ckpt_path: str | None,
    *,
    runs_root: Path,
    run_dir: Path | None = None,
    same_runs: SameRuns | None = None,
    pretrained: Callable[[str], Path] | None = None,
) -> str | None:
    """A checkpoint path to load or resume from, or None (start fresh).

    ``run_dir`` is this run's folder (training only): ``auto`` is its own checkpoint
    (:func:`own_checkpoint`) when it has one, else None; ``last`` takes that too, else the most
    recently written ``checkpoints/last.ckpt`` under ``runs_root`` of a run that ``same_runs``
    accepts (any run when None). ``pretrained:NAME`` is the shipped file that ``pretrained`` finds
    (:func:`draw_lightning.pretrained.resolve_pretrained`; sample and eval pass it, training does not:
    weights-only files cannot resume training); anything else must be a checkpoint file.
    """
    if ckpt_path is None:
        return None
    ckpt_path = str(ckpt_path)
    if ckpt_path.startswith("pretrained:"):
        if pretrained is None:
            raise ValueError(
                f"ckpt_path={ckpt_path}: pretrained weights hold no optimiser state or training progress, "
                "so training cannot resume from them; use them in sample or eval"
            )
        return str(pretrained(ckpt_path))
    own = own_checkpoint(run_dir) if run_dir is not None else None
    if ckpt_path == "auto":
        if run_dir is None:
            raise ValueError("ckpt_path=auto resumes a training run in its own folder; give a checkpoint file or last")
        if own is not None:
            log.info("ckpt_path=auto: resuming this run's %s", own)
            return str(own)
        log.info("ckpt_path=auto: no %s yet, starting fresh", run_dir / LAST_CKPT)
        return None
    if ckpt_path != "last":
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
        return str(path)
    if own is not None:
        return str(own)
    return str(_newest_of_same_runs(runs_root, run_dir=run_dir, same_runs=same_runs))


def own_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint a run folder resumes from: ``checkpoints/last.ckpt``, or Lightning's
    ``hpc_ckpt_<n>.ckpt`` (written on its SLURM requeue signal, SIGUSR1) when that is newer."""
    candidates = [p for p in (run_dir / LAST_CKPT, *run_dir.glob("hpc_ckpt_*.ckpt")) if p.is_file()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def _newest_of_same_runs(runs_root: Path, *, run_dir: Path | None, same_runs: SameRuns | None) -> Path:
    """The newest ``checkpoints/last.ckpt`` under ``runs_root`` of a run ``same_runs`` accepts;
    the error of ``ckpt_path=last`` names every place looked at when there is none."""
    here = run_dir.resolve() if run_dir is not None else None
    found, skipped = [], []
    for ckpt in runs_root.glob(f"**/{LAST_CKPT.as_posix()}"):
        run = ckpt.parent.parent
        if here is not None and run.resolve() == here:
            continue
        reason = same_runs.mismatch(run) if same_runs is not None else None
        if reason is None:
            found.append(ckpt)
        else:
            skipped.append(f"{run} ({reason})")
    if found:
        return max(found, key=lambda p: p.stat().st_mtime)
    wanted = "" if same_runs is None else f" with {same_runs}"
    places = []
    if run_dir is not None:
        places.append(f"this run's folder: no {run_dir / LAST_CKPT}")
    missing = "" if runs_root.is_dir() else " (no such folder)"
    places.append(f"the runs under {runs_root}{missing}{wanted}: none has {LAST_CKPT.as_posix()}")
    places += [f"skipped {s}" for s in sorted(skipped)[:_LISTED]]
    if len(skipped) > _LISTED:
        places.append(f"... and {len(skipped) - _LISTED} more runs of other settings")
    raise FileNotFoundError("ckpt_path=last found no checkpoint to resume; looked at\n  " + "\n  ".join(places))
