"""The speed/memory options of conf/model reach the DRAW core and are type-checked."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from draw_lightning.lightning_modules import DRAWLitModule
from tests.conftest import TINY_MODEL


def test_options_default_off_and_reach_the_network(compose_train) -> None:
    assert compose_train().model.net.compile_step is False
    model = compose_train(["model.net.checkpoint_steps=true", *TINY_MODEL]).model
    OmegaConf.to_object(model)  # schema checks pass
    module = DRAWLitModule(image_shape=(1, 8, 8), net=model.net, optimizer=model.optimizer)
    assert module.net.config.checkpoint_steps is True and module.net.config.compile_step is False


def test_non_boolean_option_fails_at_composition_naming_the_key(compose_train) -> None:
    with pytest.raises(ConfigCompositionException, match="model.net.compile_step=maybe"):
        compose_train(["model.net.compile_step=maybe"])
