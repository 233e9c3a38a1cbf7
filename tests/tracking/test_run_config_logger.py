"""The whole run config, config choices, git state and dataset sizes reach every logger of a real
run (W&B offline, CSV, TensorBoard); W&B groups a multirun's jobs and names task and tags."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml
from hydra.utils import instantiate
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from wandb.proto import wandb_internal_pb2

from draw_lightning.tracking.run_info import git_state
from tests.conftest import REPO_ROOT, TINY_NET, run_task, tiny_model

EXPERIMENT = "quickdraw_cat_r5_t20_b64"
# Two training steps (one epoch), one validation and one test batch, in a one-job multirun.
RUN = [
    f"experiment={EXPERIMENT}",
    *tiny_model(read_n=None),  # read_n stays the experiment's 5
    "logger=many",
    "data.max_per_category=200",
    "trainer.accelerator=cpu",
    "trainer.max_steps=2",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "callbacks.tqdm_progress_bar.refresh_rate=0",
    "extras.print_config=false",
]


def load_plot_curves():
    """scripts/plot_curves.py, whose reader of W&B run files the tests reuse."""
    spec = importlib.util.spec_from_file_location("plot_curves", REPO_ROOT / "scripts" / "plot_curves.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sweep_job(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Folder of the one job of ``train -m`` (so the run has a run_group)."""
    cwd = tmp_path_factory.mktemp("run_config")
    run_task("train", "-m", *RUN, cwd=cwd, timeout=300)
    (sweep,) = (cwd / "logs" / "train" / "multiruns").iterdir()
    return sweep / "0"


@pytest.fixture(scope="module")
def wandb_run(sweep_job: Path) -> tuple[wandb_internal_pb2.RunRecord, dict]:
    """The W&B offline run's run record and its config, as updated through the run."""
    (file,) = (sweep_job / "wandb").glob("offline-run-*/run-*.wandb")
    run, config = None, {}
    for data in load_plot_curves().wandb_records(file):
        record = wandb_internal_pb2.Record.FromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update if item.key})
    assert run is not None, f"no run record in {file}"
    return run, config


@pytest.fixture
def expected_sizes(compose_train) -> dict[str, int]:
    datamodule = instantiate(compose_train(RUN).data)
    datamodule.setup("fit")
    return {split: len(datamodule.splits[split]) for split in ("train", "val", "test")}


def check_hyperparameters(params: dict, sizes: dict[str, int]) -> None:
    """What tells this run apart from another: model, data, trainer, seed, choices, tags, git, sizes."""
    assert params["model"]["net"]["num_steps"] == TINY_NET["num_steps"] and params["model"]["net"]["read_n"] == 5
    assert params["model"]["optimizer"]["_target_"] == "torch.optim.RMSprop"
    assert params["data"]["categories"] == ["cat"] and params["data"]["batch_size"] == 64
    assert params["data"]["max_per_category"] == 200
    assert params["trainer"]["max_steps"] == 2 and params["trainer"]["gradient_clip_val"] == 10.0
    assert params["seed"] == 12345 and params["task_name"] == "train" and params["tags"] == ["quickdraw", "cat"]
    assert params["choices"]["experiment"] == EXPERIMENT and params["choices"]["data"] == "quickdraw_cat"
    assert params["run_group"].startswith("train-")
    assert "hydra" not in params and "${" not in json.dumps(params)
    assert params["git"] == git_state()
    if (REPO_ROOT / ".git").exists():
        assert len(params["git"]["commit"]) == 40 and isinstance(params["git"]["dirty"], bool)
    assert params["data_sizes"] == sizes and all(n > 0 for n in sizes.values())


def test_wandb_run_is_grouped_and_named_by_task_and_tags(sweep_job, wandb_run):
    run, _ = wandb_run
    assert run.run_group == f"train-{sweep_job.parent.name}"
    assert run.job_type == "train"
    assert list(run.tags) == ["quickdraw", "cat"]


def test_wandb_config_holds_the_run_config(wandb_run, expected_sizes):
    _, config = wandb_run
    check_hyperparameters(config, expected_sizes)
    assert (
        config["net"]["num_steps"] == TINY_NET["num_steps"]
    )  # and the model's own hyperparameters, logged by Lightning


def test_csv_hparams_hold_the_run_config(sweep_job, expected_sizes):
    check_hyperparameters(yaml.safe_load((sweep_job / "csv" / "hparams.yaml").read_text()), expected_sizes)


def test_tensorboard_holds_the_run_config_and_an_hparams_session(sweep_job, expected_sizes):
    params = yaml.safe_load((sweep_job / "tensorboard" / "hparams.yaml").read_text())
    check_hyperparameters(params, expected_sizes)
    sessions = []
    for events in sorted((sweep_job / "tensorboard").glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events))
        acc.Reload()
        try:
            content = acc.PluginTagToContent("hparams")
        except KeyError:  # the test stage's event file
            continue
        sessions += [plugin_data_pb2.HParamsPluginData.FromString(c) for c in content.values()]
    (start,) = [s.session_start_info for s in sessions if s.HasField("session_start_info")]
    (experiment,) = [s.experiment for s in sessions if s.HasField("experiment")]
    logged = {name: getattr(value, value.WhichOneof("kind")) for name, value in start.hparams.items()}
    assert logged["model/net/num_steps"] == TINY_NET["num_steps"] and logged["data/batch_size"] == 64
    assert logged["choices/experiment"] == EXPERIMENT and logged["git/commit"] == params["git"]["commit"]
    assert logged["data_sizes/train"] == expected_sizes["train"] and logged["tags"] == "['quickdraw', 'cat']"
    groups = "model data trainer callbacks logger paths seed tags choices git data_sizes".split()
    assert set(groups) <= {name.split("/")[0] for name in logged}
    assert {m.name.tag for m in experiment.metric_infos} >= {"val/loss", "test/loss"}


def test_run_folder_holds_the_resolved_config_beside_hydras(sweep_job, wandb_run):
    text = (sweep_job / "config_resolved.yaml").read_text()
    assert "${" in (sweep_job / ".hydra" / "config.yaml").read_text() and "${" not in text
    saved = yaml.safe_load(text)
    assert saved["paths"]["output_dir"] == str(sweep_job) and saved["run_group"] == f"train-{sweep_job.parent.name}"
    assert saved["model"]["net"]["read_n"] == 5 and saved["callbacks"]["finite_model_checkpoint"]["dirpath"] == str(
        sweep_job / "checkpoints"
    )
    _, config = wandb_run
    assert {k: v for k, v in config.items() if k in saved} == saved  # what the loggers got
