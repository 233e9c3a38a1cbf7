"""W&B runs that never hang: online only with credentials and a reachable server, else offline.

Also: the W&B run id kept in checkpoints, so ``ckpt_path=last`` continues the same W&B run.
"""

from __future__ import annotations

import logging
import netrc
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, open_dict

__all__ = [
    "WANDB_HISTORY_KEY",
    "WANDB_RESUMED_FROM_FILE",
    "WANDB_RUN_ID_KEY",
    "build_wandb_logger",
    "finish_wandb",
    "resolve_wandb_mode",
    "resume_wandb_run",
    "wandb_closed_after",
    "wandb_run_id_from_checkpoint",
]

log = logging.getLogger(__name__)

WANDB_RUN_ID_KEY = "wandb_run_id"
# Checkpoint key: {"folder": the W&B run folder written, "rows": its history rows so far}; and the
# file a resumed run writes into its own W&B run folder (draw_lightning.tracking.wandb_sync reads both).
WANDB_HISTORY_KEY = "wandb_history"
WANDB_RESUMED_FROM_FILE = "draw_resumed_from.json"
MODES = ("auto", "online", "offline", "disabled")
DEFAULT_BASE_URL = "https://api.wandb.ai"
WANDB_TARGETS = (
    "draw_lightning.tracking.wandb_run.build_wandb_logger",
    "lightning.pytorch.loggers.WandbLogger",
    "lightning.pytorch.loggers.wandb.WandbLogger",
)


def _has_credentials(host: str) -> bool:
    """An API key in the environment, or a ``wandb login`` entry for ``host`` in the netrc file."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc")).expanduser()
    try:
        return path.is_file() and netrc.netrc(str(path)).authenticators(host) is not None
    except (netrc.NetrcParseError, OSError):
        return False


def _reachable(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_wandb_mode(mode: str = "auto", *, timeout: float = 3.0) -> str:
    """``online``, ``offline`` or ``disabled``. ``auto``: ``$WANDB_MODE`` if set, else online only
    with credentials and a server answering within ``timeout`` seconds, else offline."""
    if mode not in MODES:
        raise ValueError(f"logger.wandb.mode must be one of {', '.join(MODES)}; got {mode!r}")
    if mode != "auto":
        return mode
    env_mode = os.environ.get("WANDB_MODE")
    if env_mode:
        return "offline" if env_mode == "dryrun" else env_mode
    url = urlparse(os.environ.get("WANDB_BASE_URL", DEFAULT_BASE_URL))
    host = url.hostname or "api.wandb.ai"
    if not _has_credentials(host):
        return "offline"
    port = url.port or (443 if url.scheme == "https" else 80)
    if not _reachable(host, port, timeout):
        log.warning("W&B credentials found but %s:%d is unreachable: logging offline", host, port)
        return "offline"
    return "online"


def build_wandb_logger(
    *,
    save_dir: str,
    project: str = "draw_lightning",
    mode: str = "auto",
    log_model: bool | str = False,
    id: str | None = None,  # noqa: A002 (W&B's own name for the run id)
    **kwargs: Any,
) -> WandbLogger:
    """A WandbLogger writing under ``save_dir``/wandb, in the mode :func:`resolve_wandb_mode` picks.

    ``id`` resumes that W&B run (``resume="allow"``); ``log_model`` applies to online runs only.
    Other keywords (``name``, ``group``, ``job_type``, ``tags``, ...) go to ``wandb.init``.
    """
    mode = resolve_wandb_mode(mode)
    if log_model and mode != "online":
        log.info("W&B is %s: log_model=%s ignored (checkpoints stay in the run folder)", mode, log_model)
        log_model = False
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    # Also through the environment: processes started by ddp_spawn otherwise write logged media
    # under ./wandb of the working directory instead of the run folder.
    os.environ["WANDB_DIR"] = str(Path(save_dir).resolve())
    # Silent and without the console mirror: an offline run must not print or wait for input.
    kwargs.setdefault("settings", {"silent": True, "console": "off"})
    return WandbLogger(
        save_dir=save_dir, project=project, mode=mode, log_model=log_model, id=id, resume="allow", **kwargs
    )


def wandb_run_id_from_checkpoint(ckpt_path: str | None) -> str | None:
    """The W&B run id stored by :class:`~draw_lightning.tracking.WandbRunIdSaver`, if any."""
    if not ckpt_path:
        return None
    import torch

    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    return checkpoint.get(WANDB_RUN_ID_KEY)


def resume_wandb_run(logger_cfg: DictConfig | None, ckpt_path: str | None) -> str | None:
    """Point every W&B logger of ``logger_cfg`` (with no ``id`` of its own) at the run stored in
    ``ckpt_path``; returns that run id, or None."""
    if not logger_cfg:
        return None
    nodes = [n for n in logger_cfg.values() if isinstance(n, DictConfig) and n.get("_target_") in WANDB_TARGETS]
    if not nodes:
        return None
    run_id = wandb_run_id_from_checkpoint(ckpt_path)
    if run_id is None:
        return None
    for node in nodes:
        if node.get("id") is None:
            with open_dict(node):
                node.id = run_id
    log.info("continuing W&B run %s stored in %s", run_id, ckpt_path)
    return run_id


@contextmanager
def wandb_closed_after() -> Iterator[None]:
    """Finish the W&B run left open when the block ends: marked failed when it raised an error
    (a SIGTERM stop, a ``SystemExit`` with code 0, is no failure: the run resumes later)."""
    try:
        yield
    except Exception:
        finish_wandb(failed=True)
        raise
    finally:
        finish_wandb()


def finish_wandb(*, failed: bool = False) -> None:
    """Close the W&B run left open in this process, if any (marked failed with ``failed``), so the
    next run here (a multirun job, a search trial) starts its own. Imports nothing when no code
    imported W&B."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish(exit_code=1 if failed else 0)
