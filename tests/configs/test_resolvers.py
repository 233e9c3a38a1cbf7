"""Resolvers registered by draw_lightning.configs.setup_hydra."""

from hydra.types import RunMode

from draw_lightning.configs import multirun_group


def test_multirun_group_is_the_sweep_folder_in_a_multirun_only() -> None:
    sweep = "/x/logs/train/multiruns/2026-01-02_03-04-05_123"
    assert multirun_group(RunMode.MULTIRUN, "train", sweep) == "train-2026-01-02_03-04-05_123"
    assert multirun_group(RunMode.RUN, "train", sweep) is None
