"""Optuna search over the train task's config, with pruning and parallel workers on one study.

    python -m draw_lightning.search [train overrides] [search.n_trials=N search.n_jobs=J ...]
    python -m draw_lightning.search summary STORAGE [STUDY] [--plots DIR]

The search settings and space are ``search`` of ``conf/hparams_search/optuna.yaml`` (taken unless
another ``hparams_search=...`` is given). Each trial composes ``train.yaml`` with the command's
overrides plus the trial's parameters, runs :func:`draw_lightning.train.train` in its own folder
``<search.dir>/<trial number>/`` and returns ``optimized_metric``; after every validation it reports
the loss to Optuna, and the pruner may stop it there (trial state PRUNED). A trial that raises is
recorded FAIL (traceback in its folder's ``error.txt``) and the search goes on. The study lives in
``search.storage`` (SQLite): the same command again adds ``n_trials`` trials to it. With
``search.n_jobs=J``, J processes share the study, each running its share of the trials.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from draw_lightning.configs import CONFIG_DIR, setup_hydra, validate

__all__ = ["compose_search", "main", "run_search", "search_space", "summary"]

log = logging.getLogger(__name__)

SEARCH_KEYS = {"study_name", "storage", "dir", "direction", "n_trials", "n_jobs", "sampler", "pruner", "space"}
SAMPLER_KEYS = {"seed", "n_startup_trials"}
PRUNER_KEYS = {"name", "n_startup_trials", "n_warmup_steps"}
PRUNERS = ("median", "none")
DEFAULT_SEARCH = "hparams_search=optuna"


def compose_train(overrides: Sequence[str]) -> DictConfig:
    """``train.yaml`` composed with ``overrides``, Hydra's own config included."""
    setup_hydra()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def with_default_search(overrides: Sequence[str]) -> list[str]:
    if any(o.lstrip("+~").startswith("hparams_search=") for o in overrides):
        return list(overrides)
    return [DEFAULT_SEARCH, *overrides]


def compose_search(overrides: Sequence[str]) -> DictConfig:
    """The train config of the search command, its ``search`` node checked."""
    cfg = compose_train(with_default_search(overrides))
    search = cfg.get("search")
    if not isinstance(search, DictConfig):
        raise ValueError("no `search` node in the config: give hparams_search=optuna (or a config with `search`)")
    for node, allowed, where in (
        (search, SEARCH_KEYS, "search"),
        (search.sampler, SAMPLER_KEYS, "search.sampler"),
        (search.pruner, PRUNER_KEYS, "search.pruner"),
    ):
        unknown = sorted(set(node) - allowed)
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)}; known: {sorted(allowed)}")
    if search.pruner.name not in PRUNERS:
        raise ValueError(f"search.pruner.name={search.pruner.name!r}: one of {PRUNERS}")
    if search.n_jobs < 1 or search.n_trials < 0:
        raise ValueError(f"search.n_jobs={search.n_jobs}, search.n_trials={search.n_trials}: need n_jobs >= 1")
    if not cfg.get("optimized_metric"):
        raise ValueError("optimized_metric is not set: name the metric the search optimises, e.g. val/loss")
    if search.n_jobs > 1 and not search.storage:
        raise ValueError("search.n_jobs > 1 needs search.storage (the processes share the study through it)")
    return cfg


def search_space(space: DictConfig) -> dict[str, dict[str, Any]]:
    """``{config path: spec}`` of the leaves ``{choices: [...]}`` or ``{low, high[, log]}``."""
    params: dict[str, dict[str, Any]] = {}

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, DictConfig):
            raise ValueError(f"search.space.{path}: expected {{choices: [...]}} or {{low, high, log}}, got {node!r}")
        spec = OmegaConf.to_container(node, resolve=True)
        if "choices" in spec or "low" in spec or "high" in spec:
            if "choices" in spec:
                ok = set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]
            else:
                ok = set(spec) in ({"low", "high"}, {"low", "high", "log"}) and spec["low"] < spec["high"]
            if not ok:
                raise ValueError(f"search.space.{path}: expected {{choices: [...]}} or {{low, high, log}}, got {spec}")
            params[path] = spec
            return
        for key, child in node.items():
            walk(child, f"{path}.{key}" if path else str(key))

    walk(space, "")
    if not params:
        raise ValueError("search.space is empty")
    return params


def override(name: str, value: Any) -> str:
    return f"{name}={value!r}" if isinstance(value, float) else f"{name}={value}"


def check_space(overrides: Sequence[str], params: dict[str, dict[str, Any]]) -> None:
    """Each parameter, at both ends of its range, is a key of the train config with a valid value."""
    for end in (0, -1):
        values = {
            n: s["choices"][end] if "choices" in s else s["low" if end == 0 else "high"] for n, s in params.items()
        }
        for name, value in values.items():
            try:
                cfg = compose_train([*with_default_search(overrides), override(name, value)])
                validate(cfg)
            except Exception as error:
                raise ValueError(f"search.space parameter {name}={value}: {error}") from error


def make_sampler(search: DictConfig, worker: int) -> optuna.samplers.BaseSampler:
    seed = None if search.sampler.seed is None else search.sampler.seed + worker  # workers sample apart
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=search.sampler.n_startup_trials)


def make_pruner(search: DictConfig) -> optuna.pruners.BasePruner:
    if search.pruner.name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=search.pruner.n_startup_trials, n_warmup_steps=search.pruner.n_warmup_steps
    )


def storage_of(url: str | None) -> optuna.storages.BaseStorage | None:
    if not url:
        return None
    # processes sharing a SQLite file wait for its lock instead of failing
    connect_args = {"timeout": 120} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": connect_args})


def open_study(search: DictConfig, worker: int = 0, storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    return optuna.create_study(
        study_name=search.study_name,
        storage=storage if storage is not None else storage_of(search.storage),
        sampler=make_sampler(search, worker),
        pruner=make_pruner(search),
        direction=search.direction,
        load_if_exists=True,
    )


def trial_config(overrides: Sequence[str], params: dict[str, Any], run_dir: Path, run_group: str) -> DictConfig:
    """The train config of one trial, registered as the current Hydra config, writing into ``run_dir``."""
    cfg = compose_train(
        [
            *with_default_search(overrides),
            *(override(n, v) for n, v in params.items()),
            "ckpt_path=null",  # a trial number is never run twice: never resume
            f"run_group={run_group}",
        ]
    )
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.runtime.cwd = str(Path.cwd())
    HydraConfig.instance().set_config(cfg)
    return cfg


def objective(trial: optuna.Trial, overrides: Sequence[str], search: DictConfig) -> float:
    from draw_lightning.callbacks.optuna_pruning import OptunaPruning
    from draw_lightning.tracking.failures import run_recording_failure
    from draw_lightning.train import optimized_metric

    params = {}
    for name, spec in search_space(search.space).items():
        if "choices" in spec:
            params[name] = trial.suggest_categorical(name, spec["choices"])
        else:
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], log=bool(spec.get("log")))
    run_dir = Path(search.dir) / str(trial.number)
    trial.set_user_attr("run_dir", str(run_dir))
    cfg = trial_config(overrides, params, run_dir, run_group=f"search-{search.study_name}")
    log.info("trial %d in %s: %s", trial.number, run_dir, params)

    def run() -> float | optuna.TrialPruned:
        try:
            return optimized_metric(cfg, [OptunaPruning(trial, monitor=cfg.optimized_metric)])
        except optuna.TrialPruned as pruned:  # not a failure: no error.txt
            return pruned

    result = run_recording_failure(run, output_dir=run_dir)
    if isinstance(result, optuna.TrialPruned):
        log.info("trial %d pruned: %s", trial.number, result)
        raise result
    return result


def optimize(overrides: Sequence[str], worker: int, n_trials: int, study: optuna.Study | None = None) -> None:
    """Run ``n_trials`` trials of the study (opened from the config unless given) in this process."""
    search = compose_search(overrides).search
    study = study or open_study(search, worker)
    study.optimize(lambda t: objective(t, overrides, search), n_trials=n_trials, catch=(Exception,))


def _worker(overrides: list[str], worker: int, n_trials: int) -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][worker " + str(worker) + "] %(message)s")
    optimize(overrides, worker, n_trials)


def run_search(overrides: Sequence[str]) -> optuna.Study:
    """Check the config and space, then run ``search.n_trials`` trials in ``search.n_jobs`` processes."""
    overrides = list(overrides)
    cfg = compose_search(overrides)
    search = cfg.search
    check_space(overrides, search_space(search.space))
    storage = storage_of(search.storage)
    study = open_study(search, storage=storage)  # creates it once, before any worker
    log.info("study %s in %s: %d trials so far", search.study_name, search.storage, len(study.trials))
    if search.n_jobs == 1:
        optimize(overrides, 0, search.n_trials, study)
    else:
        shares = [
            search.n_trials // search.n_jobs + (i < search.n_trials % search.n_jobs) for i in range(search.n_jobs)
        ]
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_worker, args=(overrides, i, n), name=f"search-worker-{i}")
            for i, n in enumerate(shares)
            if n
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        failed = [w.name for w in workers if w.exitcode != 0]
        if failed:
            raise RuntimeError(f"search workers {failed} exited with an error")
    return optuna.load_study(study_name=search.study_name, storage=storage) if storage else study


def summary(storage: str, study_name: str | None = None, plots: Path | None = None) -> str:
    """The best trial and a table of all trials of the study, as text; with ``plots``, the optimisation
    history and the per-epoch values (pruned trials stop early) as PNG files in that folder."""
    if study_name is None:
        names = optuna.study.get_all_study_names(storage)
        if len(names) != 1:
            raise ValueError(f"{storage} holds the studies {names}: name one")
        (study_name,) = names
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.trials
    states = Counter(t.state.name for t in trials)
    lines = [
        f"study {study_name} ({study.direction.name.lower()}): {len(trials)} trials, {dict(sorted(states.items()))}"
    ]
    finished = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if finished:
        best = study.best_trial
        lines.append(f"best trial {best.number}: value {best.value:.6g}, run folder {best.user_attrs.get('run_dir')}")
        lines += [f"  {k}={v}" for k, v in best.params.items()]
    else:
        lines.append("no trial completed yet")
    names = sorted({k for t in trials for k in t.params})
    header = ["trial", "state", "value", "epochs", "seconds", *names]
    rows = [header]
    for t in trials:
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        rows.append(
            [
                str(t.number),
                t.state.name,
                "" if t.value is None else f"{t.value:.6g}",
                str(len(t.intermediate_values)),
                "" if seconds is None else f"{seconds:.1f}",
                *(cell(t.params.get(n, "")) for n in names),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if plots is not None:
        lines += [f"plot: {p}" for p in write_plots(study, Path(plots))]
    return "\n".join(lines)


def cell(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def write_plots(study: optuna.Study, folder: Path) -> list[Path]:
    import matplotlib
    import matplotlib.pyplot

    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as plots

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot in (("history", plots.plot_optimization_history), ("epochs", plots.plot_intermediate_values)):
        path = folder / f"{study.study_name}_{name}.png"
        with matplotlib.rc_context():  # Optuna sets its own style globally: put the caller's back after
            figure = plot(study).figure
            figure.savefig(path, bbox_inches="tight")
        matplotlib.pyplot.close(figure)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    if argv[:1] == ["summary"]:
        parser = argparse.ArgumentParser(prog="python -m draw_lightning.search summary")
        parser.add_argument("storage", help="e.g. sqlite:///optuna_draw.db")
        parser.add_argument("study", nargs="?", help="study name (needed when the storage holds several)")
        parser.add_argument("--plots", type=Path, help="folder for PNG plots (needs matplotlib)")
        args = parser.parse_args(argv[1:])
        print(summary(args.storage, args.study, args.plots))
        return 0
    study = run_search(argv)
    search = compose_search(argv).search
    if search.storage:
        print(summary(search.storage, search.study_name))
    else:
        print(f"best value {study.best_value:.6g}, params {study.best_params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
