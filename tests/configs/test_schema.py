"""The typed schemas validate conf/model and conf/data without showing up as options in --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_every_model_and_data_config_is_typed_by_a_schema() -> None:
    """A YAML option without its schema would accept typos silently."""
    for path in sorted((REPO_ROOT / "conf" / "model").glob("*.yaml")) + sorted(
        (REPO_ROOT / "conf" / "data").glob("*.yaml")
    ):
        text = Path(path).read_text()
        typed = "_schema@_here_" in text or any(
            f"- {other.stem}" in text for other in path.parent.glob("*.yaml") if other != path
        )
        assert typed, f"{path} lists no schema (- /<name>_schema@_here_) nor a typed config of its group"
