"""python -m draw_lightning.search: real Optuna studies of tiny trials in a SQLite file under tmp_path."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib
import optuna
import pytest
import yaml

from draw_lightning import search
from tests.conftest import tiny_model

COMPLETE, PRUNED = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED

# A tiny DRAW on 200 cats, 2 short epochs; T and z narrowed in the space so trials stay quick.
TINY = [
    "search.space.model.net.num_steps.choices=[2,3]",
    "search.space.model.net.z_dim.choices=[2,4]",
    "data.max_per_category=200",
    "data.batch_size=16",
    *tiny_model(num_steps=None, z_dim=None),  # T and z come from the narrowed space
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
    "callbacks.finite_model_checkpoint.save_last=false",
    "logger=csv",
    "test=false",
    "extras.print_config=false",
]


def overrides(tmp_path: Path, data_dir: Path, *more: str) -> list[str]:
    return [f"paths.root_dir={tmp_path}", f"paths.data_dir={data_dir}", *TINY, *more]


def last_val_loss(run_dir: Path) -> float:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [float(r["val/loss"]) for r in csv.DictReader(f) if r.get("val/loss")][-1]


def test_a_study_of_three_trials_runs_in_sqlite_and_resumes(tmp_path: Path, data_dir: Path) -> None:
    args = overrides(tmp_path, data_dir, "search.study_name=t", "search.pruner.name=none", "search.n_trials=3")
    study = search.run_search(args)
    url = f"sqlite:///{tmp_path}/optuna_t.db"
    assert (tmp_path / "optuna_t.db").is_file()
    stored = optuna.load_study(study_name="t", storage=url)
    assert [t.state for t in stored.trials] == [COMPLETE] * 3 == [t.state for t in study.trials]
    for trial in stored.trials:
        run_dir = Path(trial.user_attrs["run_dir"])
        assert run_dir == tmp_path / "logs" / "search" / "t" / str(trial.number)
        assert trial.value == pytest.approx(last_val_loss(run_dir), abs=1e-4)  # what the trial returned
        assert len(trial.intermediate_values) == 2  # one report per epoch
        resolved = yaml.safe_load((run_dir / "config_resolved.yaml").read_text())
        for name, value in trial.params.items():
            node = resolved
            for key in name.split("."):
                node = node[key]
            assert node == pytest.approx(value)
        assert resolved["run_group"] == "search-t"
    # the same command again continues the study: trial numbers go on, new folders
    search.run_search([*args[:-1], "search.n_trials=1"])
    resumed = optuna.load_study(study_name="t", storage=url)
    assert [t.number for t in resumed.trials] == [0, 1, 2, 3]
    assert resumed.trials[3].state == COMPLETE
    assert (tmp_path / "logs" / "search" / "t" / "3" / "config_resolved.yaml").is_file()

    style = dict(matplotlib.rcParams)
    text = search.summary(url, plots=tmp_path / "plots")
    # Optuna's plots set their style globally: the caller's style comes back unchanged (the plots
    # switch to the Agg backend on purpose: no display needed)
    assert {k: v for k, v in matplotlib.rcParams.items() if style[k] != v and not k.startswith("backend")} == {}
    best = resumed.best_trial
    assert f"best trial {best.number}: value {best.value:.6g}" in text
    assert "4 trials, {'COMPLETE': 4}" in text
    assert len([line for line in text.splitlines() if line.split()[1:2] == ["COMPLETE"]]) == 4
    assert (tmp_path / "plots" / "t_history.png").stat().st_size > 0
    assert (tmp_path / "plots" / "t_epochs.png").stat().st_size > 0


def test_the_summary_command_prints_the_best_trial(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="s", storage=url)
    for x in (3.0, 1.5, 2.0):
        study.add_trial(
            optuna.trial.create_trial(
                params={"model.optimizer.lr": x / 1000},
                distributions={"model.optimizer.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)},
                value=x,
                user_attrs={"run_dir": f"/runs/{x}"},
            )
        )
    assert search.main(["summary", url]) == 0
    out = capsys.readouterr().out
    assert "best trial 1: value 1.5, run folder /runs/1.5" in out
    assert "model.optimizer.lr=0.0015" in out


def test_a_hopeless_trial_is_pruned(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite:///{tmp_path}/optuna_p.db"
    study = optuna.create_study(study_name="p", storage=url)
    fixed = {"model.net.num_steps": 2, "model.net.z_dim": 4, "model.net.read_n": 2, "model.net.write_n": 3}
    study.enqueue_trial({"model.optimizer.lr": 1e-2, **fixed})
    study.enqueue_trial({"model.optimizer.lr": 1e-4, **fixed})  # barely moves: worse than the first
    args = overrides(
        tmp_path,
        data_dir,
        "search.study_name=p",
        "search.n_trials=2",
        "search.pruner.n_startup_trials=1",
        "search.pruner.n_warmup_steps=0",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=4",
    )
    search.run_search(args)
    first, second = optuna.load_study(study_name="p", storage=url).trials
    assert (first.state, second.state) == (COMPLETE, PRUNED)
    assert len(first.intermediate_values) == 3 and list(second.intermediate_values) == [0]
    assert second.intermediate_values[0] > first.intermediate_values[0]
    assert not (Path(second.user_attrs["run_dir"]) / "error.txt").exists()  # pruned, not failed


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("+search.space.model.net.no_such_key={choices:[1,2]}", "model.net.no_such_key"),
        ("+search.n_trial=3", "search.n_trial"),
        ("search.space.model.net.read_n.choices=[2,0]", "model.net.read_n=0"),
    ],
)
def test_a_bad_search_config_fails_naming_the_key(tmp_path: Path, data_dir: Path, override: str, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        search.run_search(overrides(tmp_path, data_dir, override))
    assert not (tmp_path / "logs").exists() and not list(tmp_path.glob("*.db"))  # nothing ran


def test_both_ends_of_every_shipped_parameter_are_a_valid_train_config(compose_train) -> None:
    """A misspelt key or an out-of-range value in conf/hparams_search/optuna.yaml fails here."""
    params = search.search_space(compose_train(["hparams_search=optuna"]).search.space)
    assert {"model.optimizer.lr", "model.net.num_steps"} <= set(params)
    search.check_space([], params)
    with pytest.raises(ValueError, match=r"model\.net\.read_n=0"):  # the check can fail
        search.check_space([], {**params, "model.net.read_n": {"choices": [0, 2]}})


def test_two_worker_processes_share_the_study(tmp_path: Path, data_dir: Path) -> None:
    args = overrides(tmp_path, data_dir, "search.study_name=j", "search.n_trials=2", "search.n_jobs=2")
    search.run_search(args)
    trials = optuna.load_study(study_name="j", storage=f"sqlite:///{tmp_path}/optuna_j.db").trials
    assert [t.state for t in trials] == [COMPLETE, COMPLETE]
    assert trials[0].params != trials[1].params  # each worker samples with its own seed
    assert {Path(t.user_attrs["run_dir"]).name for t in trials} == {"0", "1"}
