"""The package's rooms and what each may import (CONTRIBUTING.md): the layering holds in the code,
not only on paper. Imports inside functions count as much as those at the top of a file."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest
import yaml

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "draw_lightning"

# room -> the other rooms of draw_lightning it may import (lowest first; never upward, no cycles).
ALLOWED = {
    "models": set(),
    "viz": {"models"},
    "data": set(),
    "utils": set(),
    "tracking": {"viz", "utils"},
    "checkpointing": {"models", "tracking"},
    "lightning_modules": {"models", "data", "checkpointing"},
    "callbacks": {"models", "viz", "data", "tracking", "utils"},
    "configs": {"models", "data", "lightning_modules"},
}
TASKS = {"train", "eval", "sample", "search", "pretrained", "__init__"}  # may import any room
# Third-party frameworks a room may use, of those that would tie it to a way of running.
FRAMEWORKS = {"lightning", "hydra", "omegaconf", "wandb", "torchmetrics", "optuna", "submitit"}
ALLOWED_FRAMEWORKS = {
    "models": set(),  # plain PyTorch: usable with no Lightning, Hydra or W&B in sight
    "viz": set(),
    "data": {"lightning"},
    "utils": {"hydra", "omegaconf"},
    "tracking": {"lightning", "hydra", "omegaconf", "wandb"},  # the one room that knows W&B
    "checkpointing": {"lightning", "hydra"},
    "lightning_modules": {"lightning", "hydra", "omegaconf", "torchmetrics"},
    "callbacks": {"lightning", "optuna"},
    "configs": {"hydra", "omegaconf"},
}


def room_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    package = ".".join(("draw_lightning", *path.relative_to(PACKAGE).parent.parts))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.append((node.lineno, f"{base}.{node.module}" if node.module else base))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def violations() -> tuple[list[str], list[str]]:
    rooms, frameworks = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = room_of(path)
        if room in TASKS:
            continue
        for line, module in imported_modules(path):
            where = f"{path.relative_to(PACKAGE)}:{line} imports {module}"
            parts = module.split(".")
            if parts[0] == "draw_lightning" and len(parts) > 1:
                target = parts[1]
                if target != room and target not in ALLOWED[room]:
                    rooms.append(f"{where} ({room} may import {sorted(ALLOWED[room]) or 'no other room'})")
            elif parts[0] in FRAMEWORKS and parts[0] not in ALLOWED_FRAMEWORKS[room]:
                frameworks.append(f"{where} ({room} may use {sorted(ALLOWED_FRAMEWORKS[room]) or 'none of them'})")
    return rooms, frameworks


def test_every_package_folder_is_a_known_room() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders - {"pretrained"} == set(ALLOWED), "a new room: add it to ALLOWED and CONTRIBUTING.md"


def test_rooms_import_only_the_rooms_below_them() -> None:
    rooms, _ = violations()
    assert not rooms, "\n".join(rooms)


def test_rooms_use_only_their_frameworks() -> None:
    _, frameworks = violations()
    assert not frameworks, "\n".join(frameworks)


def test_the_allowed_graph_has_no_cycle() -> None:
    done: set[str] = set()

    def visit(room: str, path: tuple[str, ...]) -> None:
        assert room not in path, f"cycle: {' -> '.join((*path, room))}"
        if room not in done:
            for lower in ALLOWED[room]:
                visit(lower, (*path, room))
            done.add(room)

    for room in ALLOWED:
        visit(room, ())


def test_the_checker_sees_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule can fail: a models file importing Lightning and a LightningModule is caught."""
    fake = tmp_path / "draw_lightning"
    (fake / "models").mkdir(parents=True)
    (fake / "models" / "bad.py").write_text(
        "def f():\n    import lightning\n    from draw_lightning.lightning_modules import DRAWLitModule\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    rooms, frameworks = violations()
    assert rooms == ["models/bad.py:3 imports draw_lightning.lightning_modules (models may import no other room)"]
    assert frameworks == ["models/bad.py:2 imports lightning (models may use none of them)"]


def snake_case(name: str) -> str:
    """``CheckpointOnSigterm`` -> ``checkpoint_on_sigterm``, ``KLPerStepLogger`` -> ``kl_per_step_logger``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


CALLBACK_CONFIGS = sorted(
    p for p in (PACKAGE.parents[1] / "conf" / "callbacks").glob("*.yaml") if p.stem not in ("default", "none")
)


@pytest.mark.parametrize("config", CALLBACK_CONFIGS, ids=[p.stem for p in CALLBACK_CONFIGS])
def test_a_callback_is_named_after_its_class_in_file_config_and_key(config: Path) -> None:
    """One naming scheme: class ``CheckpointOnSigterm`` lives in ``checkpoint_on_sigterm.py``, is
    configured by ``conf/callbacks/checkpoint_on_sigterm.yaml`` under the key of the same name."""
    nodes = yaml.safe_load(config.read_text())
    assert list(nodes) == [config.stem], f"{config.name} must hold one key, {config.stem}"
    module, _, cls = nodes[config.stem]["_target_"].rpartition(".")
    assert snake_case(cls) == config.stem
    target = getattr(importlib.import_module(module), cls)
    if target.__module__.startswith("draw_lightning."):
        assert target.__module__.rsplit(".", 1)[1] == config.stem


def test_snake_case() -> None:
    names = ("CheckpointOnSigterm", "KLPerStepLogger", "RNGStateCheckpoint", "TQDMProgressBar")
    assert [snake_case(n) for n in names] == [
        "checkpoint_on_sigterm",
        "kl_per_step_logger",
        "rng_state_checkpoint",
        "tqdm_progress_bar",
    ]
