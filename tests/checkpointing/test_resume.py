"""Which checkpoint ``ckpt_path=auto``, ``last``, a path or ``pretrained:NAME`` means (no training)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from draw_lightning.checkpointing.resume import LAST_CKPT, SameRuns, own_checkpoint, resolve_ckpt_path
from draw_lightning.pretrained import resolve_pretrained


def make_run(folder: Path, *, experiment: str | None = None, overrides=(), mtime: float | None = None) -> Path:
    """A run folder as Hydra and the checkpoint callback leave it: ``.hydra/hydra.yaml`` recording
    the experiment choice and the overrides, and ``checkpoints/last.ckpt`` (dummy bytes)."""
    hydra = {"hydra": {"runtime": {"choices": {"experiment": experiment}}, "overrides": {"task": list(overrides)}}}
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(hydra))
    ckpt = folder / LAST_CKPT
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"ckpt")
    if mtime is not None:
        os.utime(ckpt, (mtime, mtime))
    return folder


def test_auto_resumes_the_run_folders_own_checkpoint_or_starts_fresh(tmp_path: Path) -> None:
    root = tmp_path / "logs" / "train"
    make_run(root / "runs" / "older")  # never taken by auto
    here = root / "runs" / "here"
    assert resolve_ckpt_path("auto", runs_root=root, run_dir=here) is None
    make_run(here)
    assert resolve_ckpt_path("auto", runs_root=root, run_dir=here) == str(here / LAST_CKPT)


def test_auto_and_last_take_lightnings_slurm_checkpoint_when_it_is_newer(tmp_path: Path) -> None:
    here = make_run(tmp_path / "run", mtime=1_000)
    hpc = here / "hpc_ckpt_1.ckpt"
    hpc.write_bytes(b"ckpt")
    os.utime(hpc, (2_000, 2_000))
    assert own_checkpoint(here) == hpc
    assert resolve_ckpt_path("auto", runs_root=tmp_path, run_dir=here) == str(hpc)
    os.utime(hpc, (500, 500))
    assert resolve_ckpt_path("last", runs_root=tmp_path, run_dir=here) == str(here / LAST_CKPT)


def test_auto_is_for_training_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ckpt_path=auto resumes a training run in its own folder"):
        resolve_ckpt_path("auto", runs_root=tmp_path, pretrained=resolve_pretrained)


def test_last_prefers_this_run_folder_to_newer_runs(tmp_path: Path) -> None:
    root = tmp_path / "logs" / "train"
    here = make_run(root / "runs" / "here", mtime=1_000)
    make_run(root / "runs" / "newer", mtime=2_000)
    assert resolve_ckpt_path("last", runs_root=root, run_dir=here, same_runs=SameRuns(None)) == str(here / LAST_CKPT)


def test_last_takes_the_newest_run_of_the_same_experiment(tmp_path: Path) -> None:
    root = tmp_path / "logs" / "train"
    here = root / "runs" / "here"  # no checkpoint of its own
    mnist_old = make_run(
        root / "runs" / "a", experiment="draw_mnist_attn", overrides=["experiment=draw_mnist_attn"], mtime=1_000
    )
    make_run(root / "runs" / "b", experiment="draw_svhn", mtime=3_000)  # newer, another experiment
    mnist_new = make_run(root / "multiruns" / "s" / "0", experiment="draw_mnist_attn", overrides=["a=1"], mtime=2_000)
    make_run(root / "runs" / "c", mtime=4_000)  # newest, no experiment
    same = SameRuns("draw_mnist_attn")
    assert resolve_ckpt_path("last", runs_root=root, run_dir=here, same_runs=same) == str(mnist_new / LAST_CKPT)
    # The newest run without an experiment, for a run without one; any run when nothing is compared.
    assert resolve_ckpt_path("last", runs_root=root, run_dir=here, same_runs=SameRuns(None)).endswith(
        "c/" + str(LAST_CKPT)
    )
    os.utime(mnist_old / LAST_CKPT, (5_000, 5_000))
    assert resolve_ckpt_path("last", runs_root=root, run_dir=here) == str(mnist_old / LAST_CKPT)


def test_last_in_a_multirun_takes_the_job_with_the_same_overrides(tmp_path: Path) -> None:
    root = tmp_path / "logs" / "train"
    old_sweep = root / "multiruns" / "old"
    # the recorded ckpt_path and the order of the overrides do not matter
    job_0 = make_run(old_sweep / "0", overrides=["ckpt_path=auto", "model.optimizer.lr=0.001", "trainer.max_epochs=5"])
    make_run(old_sweep / "1", overrides=["trainer.max_epochs=5", "model.optimizer.lr=0.0001"], mtime=2e9)
    here = root / "multiruns" / "new" / "0"
    same = SameRuns(None, ("model.optimizer.lr=0.001", "trainer.max_epochs=5"))
    assert resolve_ckpt_path("last", runs_root=root, run_dir=here, same_runs=same) == str(job_0 / LAST_CKPT)


def test_same_runs_of_a_hydra_multirun_job_compare_overrides_without_ckpt_path(compose_train) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import read_write

    cfg = compose_train(["experiment=draw_mnist_attn", "ckpt_path=last", "model.optimizer.lr=0.001"])
    assert SameRuns.of_current_run() == SameRuns("draw_mnist_attn")
    with read_write(cfg.hydra):
        cfg.hydra.mode = RunMode.MULTIRUN
    HydraConfig.instance().set_config(cfg)
    overrides = list(cfg.hydra.overrides.task)
    assert "ckpt_path=last" in overrides and "model.optimizer.lr=0.001" in overrides
    overrides.remove("ckpt_path=last")
    assert SameRuns.of_current_run() == SameRuns("draw_mnist_attn", tuple(sorted(overrides)))


def test_the_error_of_last_names_every_place_it_looked(tmp_path: Path) -> None:
    root = tmp_path / "logs" / "train"
    here = root / "runs" / "here"
    other = make_run(root / "runs" / "svhn", experiment="draw_svhn")
    (root / "runs" / "broken" / "checkpoints").mkdir(parents=True)
    (root / "runs" / "broken" / LAST_CKPT).write_bytes(b"ckpt")
    with pytest.raises(FileNotFoundError) as info:
        resolve_ckpt_path("last", runs_root=root, run_dir=here, same_runs=SameRuns("draw_mnist_attn"))
    message = str(info.value)
    assert message.startswith("ckpt_path=last found no checkpoint to resume; looked at")
    assert f"this run's folder: no {here / LAST_CKPT}" in message
    assert f"the runs under {root} with experiment=draw_mnist_attn: none has checkpoints/last.ckpt" in message
    assert f"skipped {other} (experiment=draw_svhn)" in message
    assert f"skipped {root / 'runs' / 'broken'} (no readable .hydra/hydra.yaml" in message

    with pytest.raises(FileNotFoundError, match=r"under .*nowhere \(no such folder\)"):
        resolve_ckpt_path("last", runs_root=tmp_path / "nowhere", pretrained=resolve_pretrained)


def test_paths_none_and_pretrained(tmp_path: Path) -> None:
    assert resolve_ckpt_path(None, runs_root=tmp_path) is None
    ckpt = tmp_path / "x.ckpt"
    ckpt.write_bytes(b"ckpt")
    assert resolve_ckpt_path(str(ckpt), runs_root=tmp_path, run_dir=tmp_path / "run") == str(ckpt)
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        resolve_ckpt_path(str(tmp_path / "missing.ckpt"), runs_root=tmp_path)
    with pytest.raises(ValueError, match="training cannot resume"):
        resolve_ckpt_path("pretrained:quickdraw_cat", runs_root=tmp_path, run_dir=tmp_path)
