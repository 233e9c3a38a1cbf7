"""The package as users install it: every subpackage and every config ships in the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO_ROOT, TINY_MODEL

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def test_pyproject_lists_every_subpackage():
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    src = REPO_ROOT / "src"
    found = {str(p.parent.relative_to(src)).replace(os.sep, ".") for p in src.rglob("__init__.py")}
    assert found | {"draw_lightning.conf"} == listed


def test_wheel_ships_the_configs_and_trains_from_another_directory(tmp_path):
    wheel_dir, site = tmp_path / "wheel", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheel_dir), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheel_dir.glob("draw_lightning-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    yaml_files = {str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "conf").rglob("*.yaml")}
    assert {f"draw_lightning/{f}" for f in yaml_files} <= names

    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = os.environ | {"PYTHONPATH": str(site)}  # the wheel's copy shadows the editable checkout
    where = subprocess.run(
        [sys.executable, "-c", "import draw_lightning.configs as c; print(c.CONFIG_DIR)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()) == site / "draw_lightning" / "conf"
    run = subprocess.run(
        [sys.executable, "-m", "draw_lightning.train", *TINY_MODEL, "debug=fdr", "data.max_per_category=100"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert list((elsewhere / "logs" / "debug" / "runs").glob("*/.hydra/config.yaml"))
