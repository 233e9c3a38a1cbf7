"""The git state of the code (commit, dirty) in a checkout, and "unknown" anywhere else."""

from __future__ import annotations

import subprocess
from pathlib import Path

from draw_lightning.tracking.run_info import git_state


def git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_commit_and_dirty_flag_of_a_checkout(tmp_path):
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    commit = git(tmp_path, "rev-parse", "HEAD")
    assert git_state(package) == {"commit": commit, "dirty": False}
    (package / "notes.txt").write_text("untracked files do not count\n")
    assert git_state(package) == {"commit": commit, "dirty": False}
    (package / "__init__.py").write_text("x = 2\n")
    assert git_state(package) == {"commit": commit, "dirty": True}


def test_unknown_outside_a_checkout_or_without_git(tmp_path, monkeypatch):
    unknown = {"commit": "unknown", "dirty": "unknown"}
    (tmp_path / "__init__.py").write_text("")
    assert git_state(tmp_path) == unknown  # not a git checkout (an installed wheel)
    git(tmp_path, "init", "-q")
    assert git_state(tmp_path) == unknown  # a checkout that does not track the code (a venv inside one)
    assert git_state(tmp_path / "missing") == unknown
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert git_state() == unknown  # no git program


def test_config_tree_has_a_branch_per_group_and_the_groups_yaml_under_it() -> None:
    from draw_lightning.tracking.run_info import config_tree

    tree = config_tree({"seed": 3, "model": {"net": {"z_dim": 10}}, "tags": ["a"], "data": {"batch_size": 64}})
    assert tree.splitlines() == [
        "config",
        "├── seed: 3",
        "├── model",
        "│   net:",
        "│     z_dim: 10",
        "├── tags: ['a']",
        "└── data",
        "    batch_size: 64",
    ]
