"""A SLURM job stopped mid-epoch and started again (a requeue) resumes its own ``last.ckpt``, in its
own run folder and W&B run: after a SIGTERM (pre-emption), and after submitit's requeue signal,
on which the real submitit signal handler requeues the job. Also ``ckpt_path=last`` and ``auto``
with a given ``hydra.run.dir``. Real processes throughout."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from draw_lightning.checkpointing.resume import LAST_CKPT
from tests.conftest import KILLABLE_RUN, run_env

STEPS_PER_EPOCH, EPOCHS = 40, 3  # 640 training images in batches of 16
TOTAL = STEPS_PER_EPOCH * EPOCHS
RUN = (
    *KILLABLE_RUN,
    "data.max_per_category=800",
    f"trainer.max_epochs={EPOCHS}",
    "+callbacks.finite_model_checkpoint.every_n_train_steps=5",
    "logger=[csv,wandb]",  # W&B offline
)
# What a process of a one-task SLURM batch job finds in its environment.
SLURM_JOB = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NAME": "draw.sbatch",
    "SLURM_NTASKS": "1",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
    "SLURM_NODELIST": "localhost",
}
REQUEUED = {"SLURM_RESTART_COUNT": "1"}


def start(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=cwd, env={**run_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env={**run_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def train(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "draw_lightning.train", *overrides]


def signal_once_training(process: subprocess.Popen, ckpt: Path, signum: int, timeout: float = 120) -> str:
    """Send ``signum`` once the first checkpoint of the run is written; the process's output."""
    deadline = time.monotonic() + timeout
    while not ckpt.exists():
        assert process.poll() is None, f"ended before a checkpoint:\n{process.stdout.read()[-4000:]}"
        assert time.monotonic() < deadline, "no checkpoint within the timeout"
        time.sleep(0.02)
    process.send_signal(signum)
    return process.communicate(timeout=120)[0]


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def wandb_run_ids(run_dir: Path) -> list[str]:
    """The run id of each offline W&B run in the folder (``offline-run-<time>-<id>``), oldest first."""
    return [p.name.rsplit("-", 1)[-1] for p in sorted((run_dir / "wandb").glob("offline-run-*"))]


def train_steps(run_dir: Path) -> list[int]:
    with (run_dir / "csv" / "metrics.csv").open() as f:
        return [int(r["step"]) for r in csv.DictReader(f) if r.get("train/loss")]


def assert_resumed(run_dir: Path, output: str, *, stopped: dict) -> None:
    """The second start resumed the first's last.ckpt in the same folder, to the end of training,
    in the same W&B run, and the CSV log of both covers every step once."""
    assert f"ckpt_path=auto: resuming this run's {run_dir / LAST_CKPT}" in output, output[-4000:]
    final = load(run_dir / LAST_CKPT)
    assert final["global_step"] == TOTAL
    assert final["wandb_run_id"] == stopped["wandb_run_id"]
    assert wandb_run_ids(run_dir) == [stopped["wandb_run_id"]] * 2
    assert train_steps(run_dir) == list(range(TOTAL))


def test_a_requeued_slurm_job_resumes_in_its_folder_and_wandb_run(tmp_path: Path) -> None:
    """No ``hydra.run.dir``: the job's folder is named after its SLURM job id, the same on requeue."""
    first = start(train(*RUN), cwd=tmp_path, env=SLURM_JOB)
    run_dir = tmp_path / "logs" / "train" / "runs" / "slurm-4242"
    output = signal_once_training(first, run_dir / LAST_CKPT, signal.SIGTERM)  # pre-emption
    assert first.returncode == 0, output[-4000:]
    stopped = load(run_dir / LAST_CKPT)
    assert 0 < stopped["global_step"] < TOTAL and stopped["global_step"] % STEPS_PER_EPOCH, "not mid-epoch"

    again = run(train(*RUN), cwd=tmp_path, env={**SLURM_JOB, **REQUEUED})  # SLURM requeued it
    assert again.returncode == 0, again.stdout[-4000:]
    assert list((tmp_path / "logs" / "train" / "runs").iterdir()) == [run_dir]
    assert_resumed(run_dir, again.stdout, stopped=stopped)


# The submitted job, as submitit pickles it: a callable with a ``checkpoint`` method, as Hydra's
# submitit launcher is, run by ``python -m submitit.core._submit <folder>`` (submitit's job script).
SUBMIT_JOB = """
import sys
from submitit.core.utils import DelayedSubmission

class TrainCommand:
    def __init__(self, argv):
        self.argv = argv

    def __call__(self):
        from draw_lightning.train import main

        sys.argv = ["draw_lightning.train", *self.argv]
        main()

    def checkpoint(self):  # submitit requeues what this returns: the same command
        return DelayedSubmission(self)

pickle_path, *argv = sys.argv[1:]
job = DelayedSubmission(TrainCommand(argv))
job.set_timeout(timeout_min=60, max_num_timeout=3)
job.dump(pickle_path)
"""


def test_submitits_requeue_signal_saves_last_ckpt_then_submitit_requeues(tmp_path: Path) -> None:
    """USR2, submitit's signal before a time limit: the batch ends, last.ckpt is written, then
    submitit's own handler calls ``scontrol requeue``; the requeued job resumes in ``hydra.run.dir``."""
    run_dir, folder, bin_dir = tmp_path / "run", tmp_path / "submitit", tmp_path / "bin"
    folder.mkdir()
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"  # records the requeue SLURM would do
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.log"}\n')
    scontrol.chmod(0o755)
    job_env = {
        **SLURM_JOB,
        "SLURM_JOB_ID": "5151",
        "SUBMITIT_EXECUTOR": "slurm",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    made = run(
        [sys.executable, "-c", SUBMIT_JOB, str(folder / "5151_submitted.pkl"), *RUN, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={},
    )
    assert made.returncode == 0, made.stdout
    job = [sys.executable, "-m", "submitit.core._submit", str(folder)]

    first = start(job, cwd=tmp_path, env=job_env)
    output = signal_once_training(first, run_dir / LAST_CKPT, signal.SIGUSR2)
    assert first.returncode == 0, output[-4000:]
    saved, requeued = output.find(f"saved {run_dir / LAST_CKPT}"), output.find("submitit requeued the job")
    assert 0 <= saved < requeued, output[-4000:]
    assert (tmp_path / "scontrol.log").read_text() == "requeue 5151\n"
    stopped = load(run_dir / LAST_CKPT)
    assert 0 < stopped["global_step"] < TOTAL

    again = run(job, cwd=tmp_path, env={**job_env, **REQUEUED})
    assert again.returncode == 0, again.stdout[-4000:]
    assert (folder / "5151_0_result.pkl").is_file()  # submitit: the job completed
    assert_resumed(run_dir, again.stdout, stopped=stopped)


# A run that only resolves its checkpoint: no training, no test, no logger.
RESOLVE_ONLY = ("train=false", "test=false", "logger=none", "optimized_metric=null", "extras.print_config=false")


def fake_run(folder: Path, *, mtime: float) -> Path:
    """A run folder with Hydra's record (no experiment) and a last.ckpt of the given age."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "hydra.yaml").write_text(
        "hydra:\n  runtime:\n    choices:\n      experiment: null\n  overrides:\n    task: []\n"
    )
    ckpt = folder / LAST_CKPT
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"not loaded without a W&B logger")
    os.utime(ckpt, (mtime, mtime))
    return ckpt


def test_last_with_a_run_dir_takes_that_folders_checkpoint(tmp_path: Path) -> None:
    mine = fake_run(tmp_path / "mine", mtime=time.time() - 100)
    fake_run(tmp_path / "logs" / "train" / "runs" / "newer", mtime=time.time())
    result = run(train(*RESOLVE_ONLY, "ckpt_path=last", f"hydra.run.dir={tmp_path / 'mine'}"), cwd=tmp_path, env={})
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"resuming from {mine}" in result.stdout


def test_auto_starts_fresh_without_a_checkpoint(tmp_path: Path) -> None:
    fake_run(tmp_path / "logs" / "train" / "runs" / "other", mtime=time.time())  # not this run's
    run_dir = tmp_path / "fresh"
    result = run(train(*RESOLVE_ONLY, f"hydra.run.dir={run_dir}"), cwd=tmp_path, env={})  # auto: the default
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"ckpt_path=auto: no {run_dir / LAST_CKPT} yet, starting fresh" in result.stdout
    assert "resuming from" not in result.stdout


def test_last_with_nothing_to_resume_names_where_it_looked(tmp_path: Path) -> None:
    run_dir = tmp_path / "empty"
    result = run(train(*RESOLVE_ONLY, "ckpt_path=last", f"hydra.run.dir={run_dir}"), cwd=tmp_path, env={})
    assert result.returncode != 0
    error = (run_dir / "error.txt").read_text()
    assert "FileNotFoundError: ckpt_path=last found no checkpoint to resume; looked at" in error
    assert f"this run's folder: no {run_dir / LAST_CKPT}" in error
    runs_root = tmp_path / "logs" / "train"
    assert f"the runs under {runs_root} (no such folder) with experiment=None: none has" in error
