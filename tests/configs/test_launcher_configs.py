"""hydra/launcher=slurm asks SLURM for the nodes and GPUs of the trainer it launches."""

from __future__ import annotations

from hydra.utils import get_class
from omegaconf import OmegaConf


def test_slurm_launcher_takes_nodes_and_tasks_from_the_trainer(compose_train) -> None:
    cfg = compose_train(["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=8", "trainer.num_nodes=3"])
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert get_class(launcher["_target_"]).__name__ == "SlurmLauncher"
    assert (launcher["nodes"], launcher["tasks_per_node"], launcher["gpus_per_node"]) == (3, 8, 8)
