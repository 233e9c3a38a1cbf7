"""Out-of-range config values fail before anything is built, naming the key and the value."""

from __future__ import annotations

import pytest

from draw_lightning.configs import validate
from draw_lightning.train import train


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.net.read_n=0", "model.net.read_n must be >= 1, got 0"),
        ("model.net.write_n=-2", "model.net.write_n must be >= 1, got -2"),
        ("model.net.num_steps=0", "model.net.num_steps must be >= 1, got 0"),
        ("model.net.z_dim=0", "model.net.z_dim must be >= 1, got 0"),
        ("model.optimizer.lr=0", "model.optimizer.lr must be > 0, got 0"),
        ("model.optimizer.lr=-0.001", "model.optimizer.lr must be > 0, got -0.001"),
        ("data.batch_size=0", "data.batch_size must be >= 1, got 0"),
    ],
)
def test_out_of_range_value_names_key_and_value(override: str, message: str, compose_train) -> None:
    cfg = compose_train([override])
    with pytest.raises(ValueError) as err:
        validate(cfg)
    assert str(err.value) == message


def test_train_task_validates_before_building_anything(tmp_path, compose_train) -> None:
    cfg = compose_train(["model.net.num_steps=0"])  # runs under tmp_path
    with pytest.raises(ValueError, match=r"^model\.net\.num_steps must be >= 1, got 0$"):
        train(cfg)
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("override", ["model.net.read_n=five", "data.batch_size=1.5"])
def test_wrong_type_fails_at_composition_naming_the_key(override: str, compose_train) -> None:
    key = override.split("=")[0]
    with pytest.raises(Exception, match=key.split(".")[-1]):
        compose_train([override])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model.optimizer._target_=torch.optim.Adamm"],
            r"^model\.optimizer\._target_='torch\.optim\.Adamm' cannot be",
        ),
        (["+model.optimizer.betaz=[0.9,0.99]"], r"^model\.optimizer: Adam takes no keyword 'betaz'$"),
        (["model/scheduler=plateau", "model.scheduler.scheduler.factor=2"], r"^model\.scheduler\.scheduler: Factor"),
        (["model/scheduler=cosine", "model.scheduler.interval=epochs"], r"^model\.scheduler\.interval must be step or"),
    ],
)
def test_bad_optimiser_or_schedule_fails_in_validate_naming_the_key(
    overrides: list[str], message: str, compose_train
) -> None:
    with pytest.raises(ValueError, match=message):
        validate(compose_train(overrides))


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("scheduler", ["cosine", "step", "exponential", "plateau"])
def test_every_optimiser_and_schedule_file_validates(optimizer: str, scheduler: str, compose_train) -> None:
    cfg = compose_train([f"model/optimizer={optimizer}", f"model/scheduler={scheduler}"])
    validate(cfg)
    assert cfg.model.optimizer._target_.lower().endswith(optimizer)
