"""Resolvers registered by draw_lightning.configs.setup_hydra."""

from hydra.types import RunMode

from draw_lightning.configs import multirun_group, slurm_job_or


def test_multirun_group_is_the_sweep_folder_in_a_multirun_only() -> None:
    sweep = "/x/logs/train/multiruns/2026-01-02_03-04-05_123"
    assert multirun_group(RunMode.MULTIRUN, "train", sweep) == "train-2026-01-02_03-04-05_123"
    assert multirun_group(RunMode.RUN, "train", sweep) is None


def test_slurm_job_or_names_a_batch_jobs_run_folder_after_the_job(monkeypatch) -> None:
    for name in ("SLURM_JOB_ID", "SLURM_JOB_NAME", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    assert slurm_job_or("2026-01-02_03-04-05_123") == "2026-01-02_03-04-05_123"  # not in SLURM
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_JOB_NAME", "train.sbatch")
    assert slurm_job_or("x") == "slurm-4242"  # the same when the job is requeued
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "4200")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "7")
    assert slurm_job_or("x") == "slurm-4200_7"
    monkeypatch.setenv("SLURM_JOB_NAME", "interactive")  # salloc, srun --pty: a folder per run
    assert slurm_job_or("x") == "x"


def test_a_single_runs_folder_in_a_slurm_job(compose_train, monkeypatch) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_JOB_NAME", "train.sbatch")
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    cfg = compose_train()
    assert cfg.hydra.run.dir == f"{cfg.paths.log_dir}/train/runs/slurm-4242"
    assert "slurm" not in cfg.hydra.sweep.dir  # named once by the process starting the sweep
