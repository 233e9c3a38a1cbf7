"""W&B mode selection (never online without credentials and network) and run resumption."""

import contextlib
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from draw_lightning.tracking.wandb_run import WANDB_RUN_ID_KEY, resolve_wandb_mode, resume_wandb_run, wandb_closed_after
from draw_lightning.tracking.wandb_sync import records
from tests.conftest import TRAINED_RUN, only_run_dir, run_task


@pytest.fixture
def no_wandb_env(monkeypatch, tmp_path):
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    return tmp_path


def test_offline_without_credentials(no_wandb_env):
    assert resolve_wandb_mode("auto") == "offline"


def test_wandb_mode_env_wins(no_wandb_env, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_wandb_mode("auto") == "disabled"
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert resolve_wandb_mode("auto") == "offline"
    assert resolve_wandb_mode("online") == "online"  # an explicit mode is taken as given


def test_offline_with_credentials_but_no_server(no_wandb_env, monkeypatch):
    # a netrc entry as `wandb login` writes it, for a server on a port nobody listens on
    (no_wandb_env / "netrc").write_text("machine 127.0.0.1\n  login user\n  password 0123456789abcdef\n")
    (no_wandb_env / "netrc").chmod(0o600)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    assert resolve_wandb_mode("auto", timeout=1.0) == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef")
    assert resolve_wandb_mode("auto", timeout=1.0) == "offline"


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="logger.wandb.mode must be one of auto, online, offline, disabled"):
        resolve_wandb_mode("sometimes")


def test_resume_sets_the_stored_id_on_wandb_loggers_only(tmp_path):
    ckpt = tmp_path / "x.ckpt"
    torch.save({WANDB_RUN_ID_KEY: "abc123"}, ckpt)
    cfg = OmegaConf.create(
        {
            "wandb": {"_target_": "draw_lightning.tracking.wandb_run.build_wandb_logger", "id": None},
            "csv": {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": "."},
        }
    )
    assert resume_wandb_run(cfg, str(ckpt)) == "abc123"
    assert cfg.wandb.id == "abc123" and "id" not in cfg.csv
    torch.save({}, ckpt)  # a checkpoint from a run without W&B
    cfg.wandb.id = None
    assert resume_wandb_run(cfg, str(ckpt)) is None and cfg.wandb.id is None


def run_id(run: Path) -> str:
    (offline,) = (run / "wandb").glob("offline-run-*")
    return offline.name.rsplit("-", 1)[-1]


def test_resuming_from_a_checkpoint_continues_its_wandb_run(trained_run, trained_ckpt, tmp_path):
    first = run_id(trained_run)
    assert torch.load(trained_ckpt, map_location="cpu", weights_only=False)[WANDB_RUN_ID_KEY] == first
    overrides = [o for o in TRAINED_RUN if not o.startswith(("trainer.max_epochs", "trainer.limit_train"))]
    run_task(
        "train",
        *overrides,
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=2",
        "test=false",
        f"ckpt_path={trained_ckpt}",
        cwd=tmp_path,
    )
    resumed = only_run_dir(tmp_path, "train")
    assert run_id(resumed) == first
    # the epoch after the checkpoint's two was logged into it
    assert (resumed / "images" / "canvas_generation" / "epoch_002.png").is_file()


def exit_codes(wandb_dir: Path, timeout: float = 60) -> list[int]:
    """The exit codes recorded in the offline W&B run files under ``wandb_dir``, once there are any:
    W&B's service writes the exit record after ``wandb.finish`` has returned."""
    deadline = time.monotonic() + timeout
    while True:
        files = wandb_dir.glob("wandb/offline-run-*/run-*.wandb")
        codes = [record.exit.exit_code for file in files for record in records(file, "exit")]
        if codes or time.monotonic() > deadline:
            return codes
        time.sleep(0.2)


@pytest.mark.parametrize(("error", "codes"), [(None, [0]), (ValueError("diverged"), [1]), (SystemExit(0), [0])])
def test_a_block_that_raises_an_error_leaves_its_wandb_run_marked_failed(
    error: BaseException | None, codes: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real offline run: finished when the block ends, failed on an error but not on a SIGTERM stop."""
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SERVICE", "")  # wandb.init sets it: restored to unset after the test
    monkeypatch.delenv("WANDB_SERVICE")
    with pytest.raises(type(error)) if error else contextlib.nullcontext():
        with wandb_closed_after():
            wandb.init(mode="offline", dir=tmp_path, project="draw_test", settings={"silent": True, "console": "off"})
            wandb.log({"loss": 1.0})
            if error:
                raise error
    assert wandb.run is None
    files = sorted(str(f.relative_to(tmp_path)) for f in tmp_path.rglob("*.wandb"))
    assert exit_codes(tmp_path) == codes, f"exit records in {files}"
