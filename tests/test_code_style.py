"""The code is formatted and lint-clean as ruff (pinned in the dev extra) and pyproject.toml say:
the README's test command, and so CI, fails on unformatted code as well as on wrong code."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

CHECKED = ["src", "tests", "benchmarks", "scripts", "notebooks"]


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["format", "lint"])
def test_ruff_finds_nothing_to_change(command: list[str]) -> None:
    ruff = shutil.which("ruff")
    assert ruff, "ruff is not installed: pip install -e '.[dev]'"
    proc = subprocess.run([ruff, *command, *CHECKED], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"ruff {' '.join(command)} (fix with `make format`):\n{proc.stdout[-4000:]}"
