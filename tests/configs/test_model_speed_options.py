"""The speed/memory options of conf/model reach the DRAW core and are type-checked."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from draw_lightning.configs import CONFIG_DIR, register_configs
from draw_lightning.lightning_modules import DRAWLitModule


def compose_model(*overrides: str):
    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides)).model


def test_options_default_off_and_reach_the_network() -> None:
    assert compose_model().net.compile_step is False
    model = compose_model("model.net.checkpoint_steps=true", "model.net.num_steps=3")
    OmegaConf.to_object(model)  # schema checks pass
    module = DRAWLitModule(image_shape=(1, 8, 8), net=model.net, optimizer=model.optimizer)
    assert module.net.config.checkpoint_steps is True and module.net.config.compile_step is False


def test_non_boolean_option_fails_at_composition_naming_the_key() -> None:
    with pytest.raises(ConfigCompositionException, match="model.net.compile_step=maybe"):
        compose_model("model.net.compile_step=maybe")
