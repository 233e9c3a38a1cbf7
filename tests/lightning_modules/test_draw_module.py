"""DRAWLitModule with a real Lightning Trainer: metrics, optimisers, checkpoints."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from draw_lightning.lightning_modules import DRAWLitModule
from tests.conftest import TINY_NET


class _TensorData(L.LightningDataModule):
    def __init__(self, images: torch.Tensor, *, batch_size: int) -> None:
        super().__init__()
        self.images, self.batch_size = images, batch_size

    def _loader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.images, torch.zeros(len(self.images))), batch_size=self.batch_size)

    train_dataloader = val_dataloader = test_dataloader = _loader


def _trainer(tmp_path, **kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    return L.Trainer(**(defaults | kwargs))


def _module(**kwargs) -> DRAWLitModule:
    return DRAWLitModule(
        image_shape=(1, 6, 7),
        net=TINY_NET,
        optimizer=kwargs.pop("optimizer", {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}),
        **kwargs,
    )


def test_validation_metrics_average_over_the_whole_split(tmp_path):
    # 10 images in batches of 4 (4, 4, 2): the split mean weights images, not batches.
    torch.manual_seed(0)
    images = torch.rand(10, 1, 6, 7)
    module = _module()
    L.seed_everything(7)
    metrics = _trainer(tmp_path).validate(module, datamodule=_TensorData(images, batch_size=4), verbose=False)[0]
    L.seed_everything(7)
    with torch.no_grad():  # iterating a DataLoader draws from the RNG too, as in validate()
        outs = [module.net(x) for x, _ in _TensorData(images, batch_size=4).val_dataloader()]
    loss = torch.cat([o.loss for o in outs])
    kl_steps = torch.cat([o.kl_per_step for o in outs])
    assert metrics["val/loss"] == pytest.approx(loss.mean().item(), rel=1e-5)
    assert metrics["val/kl"] == pytest.approx(kl_steps.sum(-1).mean().item(), rel=1e-5)
    assert metrics["val/rec_loss"] + metrics["val/kl"] == pytest.approx(metrics["val/loss"], rel=1e-5)
    torch.testing.assert_close(module.kl_per_step["val"], kl_steps.mean(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "optimizer",
    [
        {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-2},
        {"_target_": "torch.optim.RMSprop", "_partial_": True, "lr": 1e-2},
    ],
)
def test_fit_lowers_the_loss_and_checkpoint_rebuilds_the_model_alone(tmp_path, optimizer):
    torch.manual_seed(0)
    templates = (torch.rand(2, 1, 6, 7) > 0.5).float()  # learnable structure: two repeated images
    images = templates.repeat(8, 1, 1, 1)
    step = {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 5, "gamma": 0.5}
    module = _module(optimizer=optimizer, scheduler={"scheduler": step, "interval": "epoch"})
    data = _TensorData(images, batch_size=8)
    L.seed_everything(1)
    before = _trainer(tmp_path).validate(module, datamodule=data, verbose=False)[0]["val/loss"]
    trainer = _trainer(tmp_path, max_epochs=15, gradient_clip_val=10.0, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=data)
    L.seed_everything(1)
    after = _trainer(tmp_path).validate(module, datamodule=data, verbose=False)[0]["val/loss"]
    assert after < 0.9 * before
    optim_cls = {"torch.optim.Adam": torch.optim.Adam, "torch.optim.RMSprop": torch.optim.RMSprop}[
        optimizer["_target_"]
    ]
    assert isinstance(trainer.optimizers[0], optim_cls)
    assert trainer.lr_scheduler_configs[0].scheduler.get_last_lr()[0] == pytest.approx(optimizer["lr"] * 0.5**3)

    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    restored = DRAWLitModule.load_from_checkpoint(path, map_location="cpu")  # no config at hand
    assert restored.net.image_shape == (1, 6, 7) and restored.net.num_steps == TINY_NET["num_steps"]
    for (name, a), (_, b) in zip(module.state_dict().items(), restored.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_any_torch_optimizer_and_schedule_work_as_partials_and_old_names_still_load():
    sgd = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1, "momentum": 0.9}
    linear = {"_target_": "torch.optim.lr_scheduler.LinearLR", "_partial_": True, "total_iters": 10}
    config = _module(optimizer=sgd, scheduler={"scheduler": linear, "interval": "step"}).configure_optimizers()
    assert isinstance(config["optimizer"], torch.optim.SGD) and config["optimizer"].defaults["momentum"] == 0.9
    assert config["lr_scheduler"]["interval"] == "step"
    # The {name, lr} form of checkpoints written before the partials.
    old = _module(optimizer={"name": "rmsprop", "lr": 2e-3, "weight_decay": 0.0}, scheduler={"name": "plateau"})
    config = old.configure_optimizers()
    assert isinstance(config["optimizer"], torch.optim.RMSprop) and config["optimizer"].defaults["lr"] == 2e-3
    assert isinstance(config["lr_scheduler"]["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert config["lr_scheduler"]["monitor"] == "val/loss"


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        (
            {"_target_": "torch.optim.Adamx", "_partial_": True},
            r"model\.optimizer\._target_='torch.optim.Adamx' cannot",
        ),
        ({"_target_": "torch.nn.Linear", "_partial_": True}, r"'torch.nn.Linear' is not a torch.optim.optimizer"),
        ({"_target_": "torch.optim.Adam", "_partial_": True, "lr": -1}, r"model\.optimizer\.lr must be > 0, got -1"),
        ({"_target_": "torch.optim.Adam", "_partial_": True, "betaz": 1}, r"Adam takes no keyword 'betaz'"),
        ({"_target_": "torch.optim.Adam", "lr": 1e-3}, r"model\.optimizer\._partial_ must be true"),
        ({"_target_": "torch.optim.Adam", "_partial_": True, "betas": [0.9, 1.5]}, r"model\.optimizer: .*beta"),
    ],
)
def test_bad_optimizer_settings_name_the_key(optimizer, message):
    with pytest.raises(ValueError, match=message):
        _module(optimizer=optimizer).configure_optimizers()


def test_cosine_without_max_steps_anneals_over_the_epochs_steps_to_eta_min(tmp_path):
    """max_epochs=2 of 3 batches (12 images, batch 4): T_max is 6 and the last step ends at eta_min."""
    cosine = {
        "_target_": "torch.optim.lr_scheduler.CosineAnnealingLR",
        "_partial_": True,
        "T_max": None,
        "eta_min": 1e-5,
    }
    module = _module(scheduler={"scheduler": cosine, "interval": "step"})
    trainer = _trainer(tmp_path, max_epochs=2, limit_val_batches=0, enable_checkpointing=False)
    trainer.fit(module, datamodule=_TensorData(torch.rand(12, 1, 6, 7), batch_size=4))
    (scheduler,) = trainer.lr_scheduler_configs
    assert scheduler.scheduler.T_max == 6 and scheduler.interval == "step"
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-5)
