"""The eval command: ELBO terms, the IWAE bound, JSON in the run folder and W&B."""

import json

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from draw_lightning.eval import extra_metrics, num_iwae_batches
from draw_lightning.lightning_modules import DRAWLitModule
from tests.conftest import TINY_NET, only_run_dir, run_task


def test_eval_reports_elbo_terms_and_an_iwae_bound_below_the_elbo(trained_ckpt, tmp_path):
    run_task(
        "eval",
        f"ckpt_path={trained_ckpt}",
        "iwae.num_samples=50",
        "trainer.limit_test_batches=2",
        "trainer.accelerator=cpu",
        "extras.print_config=false",
        cwd=tmp_path,
    )
    run = only_run_dir(tmp_path, "eval")
    result = json.loads((run / "metrics.json").read_text())
    metrics = result["metrics"]
    assert result["iwae_num_samples"] == 50 and metrics["test/iwae_num_images"] == 64  # 2 batches of 32
    assert metrics["test/loss"] == pytest.approx(metrics["test/rec_loss"] + metrics["test/kl"], rel=1e-5)
    assert 0 < metrics["test/iwae_nll"] < metrics["test/loss"]
    assert len(result["kl_per_step"]) == TINY_NET["num_steps"]  # the trained run's T
    assert "test/loss_bpd" not in metrics  # bits per dimension only for RGB
    # and to the W&B offline run
    (record,) = (run / "wandb").glob("offline-run-*/run-*.wandb")
    assert b"test/iwae_nll" in record.read_bytes()


def test_bits_per_dim_for_rgb_images():
    class RGB(L.LightningDataModule):
        def test_dataloader(self):
            return DataLoader(TensorDataset(torch.rand(6, 3, 8, 8)), batch_size=4)

    torch.manual_seed(0)
    model = DRAWLitModule(
        image_shape=(3, 8, 8),
        net=TINY_NET,
        optimizer={"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3},
    )
    cfg = OmegaConf.create({"seed": 0, "iwae": {"num_samples": 3, "chunk_size": 5, "limit_batches": None}})
    extra = extra_metrics(cfg, model, RGB(), {"test/loss": 1234.0})
    assert extra["test/iwae_num_images"] == 6
    assert extra["test/loss_bpd"] == pytest.approx(1234.0 / (3 * 8 * 8 * 0.6931471805599453))
    assert extra["test/iwae_nll_bpd"] == pytest.approx(extra["test/iwae_nll"] / (192 * 0.6931471805599453))


def test_iwae_batch_limit():
    assert num_iwae_batches(None, 10) == 10
    assert num_iwae_batches(3, 10) == 3 and num_iwae_batches(30, 10) == 10
    assert num_iwae_batches(0.25, 10) == 3 and num_iwae_batches(1.0, 10) == 10
    with pytest.raises(ValueError, match="iwae.limit_batches"):
        num_iwae_batches(0, 10)
    with pytest.raises(ValueError, match="fraction must be in"):
        num_iwae_batches(1.5, 10)
