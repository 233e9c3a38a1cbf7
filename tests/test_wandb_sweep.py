"""conf/wandb_sweep.yaml: a W&B sweep whose every trial is a valid command line of the train task,
over the search space of hparams_search/optuna.yaml."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from wandb.sdk.launch.sweeps.utils import create_sweep_command, create_sweep_command_args, load_sweep_config

from draw_lightning.configs import CONFIG_DIR, validate
from draw_lightning.search import search_space

SWEEP = load_sweep_config(str(Path(CONFIG_DIR) / "wandb_sweep.yaml"))  # as `wandb sweep` reads it
PARAMETERS = SWEEP["parameters"]


def trial_overrides(values: dict) -> list[str]:
    """The Hydra overrides W&B's agent puts in place of ${args_no_hyphens} for these values."""
    return create_sweep_command_args({"args": {k: {"value": v} for k, v in values.items()}})["args_no_hyphens"]


def candidate_values(spec: dict) -> list:
    """Every listed value, or both ends of a distribution."""
    if "values" in spec:
        return list(spec["values"])
    if "value" in spec:
        return [spec["value"]]
    return [spec["min"], spec["max"]]


def test_the_sweep_runs_the_train_task_with_the_parameters_as_overrides(compose_train):
    # W&B optimises what the train task returns, in the direction the optuna search does
    cfg = compose_train(["hparams_search=optuna"])
    assert SWEEP["metric"] == {"name": cfg.optimized_metric, "goal": cfg.search.direction}
    command = create_sweep_command(SWEEP["command"])
    assert command[:3] == ["${env}", "${interpreter}", "-m"] and command[-1] == "${args_no_hyphens}"
    # the train task, as a module that exists (a rename of the package breaks the sweep here)
    assert command[3] == "draw_lightning.train" and importlib.util.find_spec(command[3]) is not None
    assert trial_overrides({"model.optimizer.lr": 0.001, "model.net.read_n": 3}) == [
        "model.optimizer.lr=0.001",
        "model.net.read_n=3",
    ]


def test_the_space_is_that_of_the_optuna_search():
    optuna = yaml.safe_load((Path(CONFIG_DIR) / "hparams_search" / "optuna.yaml").read_text())
    optuna_params = search_space(OmegaConf.create(optuna["search"]["space"]))
    assert set(PARAMETERS) == set(optuna_params)
    for name, spec in optuna_params.items():
        if "choices" in spec:
            assert PARAMETERS[name]["values"] == spec["choices"], name
        else:
            assert spec["log"] and PARAMETERS[name]["distribution"] == "log_uniform_values", name
            assert (PARAMETERS[name]["min"], PARAMETERS[name]["max"]) == (spec["low"], spec["high"]), name


@pytest.mark.parametrize(
    "values",
    [{name: value} for name, spec in PARAMETERS.items() for value in candidate_values(spec)]
    + [{name: candidate_values(spec)[-1] for name, spec in PARAMETERS.items()}],
    ids=lambda values: ",".join(f"{k}={v}" for k, v in values.items()),
)
def test_every_parameter_value_is_a_valid_override_of_the_train_config(values, compose_train):
    overrides = trial_overrides(values)
    cfg = compose_train(overrides)
    validate(cfg)  # types at composition, ranges and the optimiser here
    for name, value in values.items():
        assert OmegaConf.select(cfg, name, throw_on_missing=True) == value
