"""The data schemas reject bad values at composition/validation, naming the key."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from draw_lightning.configs import validate


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data=quickdraw", "data.categories=[dgo]"], r"unknown Quick, Draw! category 'dgo' \(did you mean"),
        (["data=quickdraw", "data.categories=[]"], "data.categories is empty"),
        (["data=quickdraw", "data.mixing=shuffled"], r"data.mixing must be one of \('balanced', 'natural'\)"),
        (["data=quickdraw_cat", "data.val_fraction=1.5"], r"data.val_fraction must lie in \(0, 1\), got 1.5"),
        (["data=omniglot", "data.test_fraction=0"], r"data.test_fraction must lie in \(0, 1\), got 0"),
        (
            ["data=binarized_mnist", "data.binarization=half"],
            r"data.binarization must be one of \('static', 'dynamic'\)",
        ),
        (["data=image_folder", "data.root=/x", "data.channels=4"], r"data.channels must be 1 \(grey\) or 3"),
        (["data=mnist", "data.val_size=0"], r"data.val_size must be >= 1, got 0"),
        (["data=svhn", "data.seed=-1"], r"data.seed must be >= 0, got -1"),
    ],
)
def test_range_checks_name_the_key(overrides, message, compose_train):
    cfg = compose_train(overrides)
    with pytest.raises(ValueError, match=message):
        validate(cfg)


def test_wrong_type_or_unknown_key_fails_at_composition(compose_train):
    with pytest.raises(ConfigCompositionException) as err:
        compose_train(["data=mnist", "data.val_size=many"])
    assert isinstance(err.value.__cause__, ValidationError) and "val_size" in str(err.value.__cause__)
    with pytest.raises(ConfigCompositionException, match="max_per_categry"):
        compose_train(["data=quickdraw", "data.max_per_categry=5"])


@pytest.mark.parametrize(
    "name",
    [
        "mnist",
        "fashion_mnist",
        "binarized_mnist",
        "svhn",
        "cifar10",
        "cifar10_folder",
        "omniglot",
        "quickdraw",
        "quickdraw_cat",
        "quickdraw_dog",
        "quickdraw_cat_dog",
    ],
)
def test_every_data_config_validates(name, compose_train):
    validate(compose_train([f"data={name}"]))
