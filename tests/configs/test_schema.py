"""The typed schemas validate conf/model and conf/data without showing up as options in --help."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, run_env


@pytest.fixture(scope="module")
def help_groups() -> dict[str, list[str]]:
    """``group -> options`` as ``python -m draw_lightning.train --help`` lists them."""
    proc = subprocess.run(
        [sys.executable, "-m", "draw_lightning.train", "--help"], env=run_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    section = proc.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    groups = {}
    for line in section.splitlines():
        group, sep, options = line.partition(": ")
        if sep and " " not in group:
            groups[group] = options.split(", ")
    return groups


@pytest.mark.parametrize("group", ["model", "data"])
def test_help_lists_exactly_the_yaml_options_of_a_group(group: str, help_groups: dict[str, list[str]]) -> None:
    yaml_options = sorted(p.stem for p in (REPO_ROOT / "conf" / group).glob("*.yaml"))
    assert help_groups[group] == yaml_options


def test_help_offers_no_schema_as_an_option(help_groups: dict[str, list[str]]) -> None:
    listed = [f"{group}={option}" for group, options in help_groups.items() for option in options]
    assert not [entry for entry in listed if "schema" in entry]


TYPED_OPTIONS = [("model", p.stem) for p in sorted((REPO_ROOT / "conf" / "model").glob("*.yaml"))] + [
    ("data", p.stem) for p in sorted((REPO_ROOT / "conf" / "data").glob("*.yaml"))
]
# a value of the wrong type for a key every option of the group has
WRONG_TYPE = {"model": "model.net.read_n=five", "data": "data.batch_size=many"}


@pytest.mark.parametrize(("group", "option"), TYPED_OPTIONS, ids=[f"{g}={o}" for g, o in TYPED_OPTIONS])
def test_every_model_and_data_option_is_typed_by_its_schema(group: str, option: str, compose_train) -> None:
    """Without its schema a YAML option would take ``read_n=five`` silently and fail deep in training."""
    compose_train([f"{group}={option}"])  # composes as it is
    with pytest.raises(Exception, match=re.escape(WRONG_TYPE[group].split("=")[0].split(".")[-1])):
        compose_train([f"{group}={option}", WRONG_TYPE[group]])
