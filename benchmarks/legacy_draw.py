"""The DRAW of an earlier commit, importable next to today's without installing anything.

``load(commit)`` extracts ``src/draw_lightning/models/*.py`` of ``commit`` with ``git show`` into a
temporary directory as the package ``legacy_draw_models`` (imports ``draw_lightning.models.X``
rewritten to ``legacy_draw_models.X``; every model file of the project imports only torch and
``draw_lightning.models.*``, which is checked) and imports it. The default commit, ``07c3fa3``, is
the last one with the hand-written unrolled path (``unrolled.py``, ``fused.py``,
``attention_backward.py``): its ``DRAW`` takes the same constructor keywords as today's
(``compile_step`` included, ``compile_mode`` not) and the same state dict.
"""

from __future__ import annotations

import atexit
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

PACKAGE = "legacy_draw_models"
DEFAULT_COMMIT = "07c3fa3"
MODELS_DIR = "src/draw_lightning/models"
REPO = Path(__file__).resolve().parents[1]


class LegacyUnavailable(RuntimeError):
    """No git, no such commit, or its model files import something else than torch and themselves."""


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise LegacyUnavailable(f"git is not available: {err}") from None
    if proc.returncode != 0:
        raise LegacyUnavailable(f"git {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def load(commit: str = DEFAULT_COMMIT) -> ModuleType:
    """The package ``legacy_draw_models`` of ``commit`` (imported once per process)."""
    if PACKAGE in sys.modules:
        loaded = sys.modules[PACKAGE]
        if loaded.__legacy_commit__ != commit:
            raise LegacyUnavailable(f"{PACKAGE} already holds commit {loaded.__legacy_commit__}, not {commit}")
        return loaded
    names = [n for n in _git("ls-tree", "--name-only", f"{commit}:{MODELS_DIR}").split() if n.endswith(".py")]
    if "draw.py" not in names:
        raise LegacyUnavailable(f"commit {commit} has no {MODELS_DIR}/draw.py")
    root = Path(tempfile.mkdtemp(prefix="legacy_draw_"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    package = root / PACKAGE
    package.mkdir()
    for name in names:
        source = _git("show", f"{commit}:{MODELS_DIR}/{name}")
        source = source.replace("draw_lightning.models.", f"{PACKAGE}.").replace(
            "from draw_lightning.models import", f"from {PACKAGE} import"
        )
        leftover = re.search(r"^\s*(from|import)\s+draw_lightning\b.*$", source, flags=re.MULTILINE)
        if leftover:
            raise LegacyUnavailable(f"{commit}:{MODELS_DIR}/{name} imports outside the models: {leftover.group(0)!r}")
        (package / name).write_text(source)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))  # submodules are imported by now; the files stay until exit
    module.__legacy_commit__ = commit
    return module


def try_load(commit: str | None) -> ModuleType | None:
    """:func:`load`, or ``None`` after printing why (``commit=None``: not asked for)."""
    if commit is None:
        return None
    try:
        return load(commit)
    except LegacyUnavailable as err:
        print(f"note: legacy variants skipped: {err}")
        return None
