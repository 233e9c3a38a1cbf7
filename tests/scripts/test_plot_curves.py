"""scripts/plot_curves.py: curves parsed from Lightning CSV logs and W&B run files, the PNG, and its errors."""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT, TINY_MODEL, only_run_dir, run_env, run_task

SCRIPT = REPO_ROOT / "scripts" / "plot_curves.py"


def load_script():
    spec = importlib.util.spec_from_file_location("plot_curves", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


pc = load_script()

# Lightning's CSVLogger layout: the union of all keys as columns, one row per log call, blanks
# elsewhere; lr and per-step KL rows of their own, validation rows with no time.
HEADER = (
    "epoch,lr-Adam,step,time/elapsed_s,train/kl,train/loss,train/rec_loss,val/kl,val/kl_step/001,val/loss,val/rec_loss"
)
ROWS = [
    ",0.001,9,,,,,,,,",
    "0,,9,10.0,5.0,150.0,145.0,,,,",
    "0,,19,20.0,6.0,130.0,124.0,,,,",
    "0,,24,,,,,,2.5,,",  # val/kl_step: not a validation row
    "0,,14,,,,,6.5,,128.0,121.5",  # validation between two logged train steps
    "1,,29,40.0,7.0,120.0,113.0,,,,",
    "1,,39,50.0,7.5,110.0,102.5,,,,",
    "1,,29,,,,,7.2,,118.0,110.8",  # on a logged train step
    "1,,44,,,,,7.4,,112.0,104.6",  # after the last logged train step
]


def write_metrics(folder: Path, header: str = HEADER, rows: list[str] = ROWS) -> Path:
    path = folder / "csv" / "metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def drop_column(name: str) -> tuple[str, list[str]]:
    columns = HEADER.split(",")
    i = columns.index(name)
    keep = lambda line: ",".join(v for j, v in enumerate(line.split(",")) if j != i)  # noqa: E731
    return keep(HEADER), [keep(row) for row in ROWS]


def test_val_times_are_interpolated_from_the_train_rows_by_step(tmp_path):
    curves = pc.read_curves(write_metrics(tmp_path / "myrun"))
    assert curves.label == "myrun" and curves.has_time
    np.testing.assert_array_equal(curves.train_step, [9, 19, 29, 39])
    np.testing.assert_array_equal(curves.train_loss, [150, 130, 120, 110])
    np.testing.assert_array_equal(curves.train_kl, [5, 6, 7, 7.5])
    np.testing.assert_array_equal(curves.train_time, [10, 20, 40, 50])
    np.testing.assert_array_equal(curves.val_step, [14, 29, 44])
    np.testing.assert_array_equal(curves.val_loss, [128, 118, 112])
    np.testing.assert_array_equal(curves.val_kl, [6.5, 7.2, 7.4])
    # step 14: halfway from (9, 10 s) to (19, 20 s); 29: a train row's own time; 44: beyond the
    # last row, along the last segment (1 s a step)
    np.testing.assert_allclose(curves.val_time, [15.0, 40.0, 55.0])


def test_interpolation_extends_the_end_segments_and_never_goes_below_zero():
    times = pc.interpolate_time([0, 5, 10, 30, 40], known_steps=[10, 20, 30], known_times=[4.0, 6.0, 16.0])
    np.testing.assert_allclose(times, [2.0, 3.0, 4.0, 16.0, 26.0])
    np.testing.assert_allclose(pc.interpolate_time([0], [10, 20], [1.0, 11.0]), [0.0])


def test_png_is_written_with_the_expected_size(tmp_path, capsys):
    first = write_metrics(tmp_path / "a")
    second = write_metrics(tmp_path / "b")
    out = tmp_path / "figs" / "curves.png"
    code = pc.main(
        [str(tmp_path / "a"), "--run", f"second={second}", "--out", str(out)]
        + ["--title", "two runs", "--ylim-loss", "100", "160"]
    )
    assert code == 0 and first.is_file()
    assert f"wrote {out}" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (round(pc.FIGSIZE[0] * pc.DPI), round(pc.FIGSIZE[1] * pc.DPI))


def test_run_labels():
    assert pc.parse_run("attn=/tmp/runs/x") == ("attn", Path("/tmp/runs/x"))
    assert pc.parse_run("/tmp/runs/x") == (None, Path("/tmp/runs/x"))
    assert pc.default_label(Path("/tmp/runs/x/csv/metrics.csv")) == "x"


def test_a_missing_train_loss_column_is_an_error_naming_the_file_and_column(tmp_path, capsys):
    path = write_metrics(tmp_path / "run", *drop_column("train/loss"))
    with pytest.raises(pc.CurvesError, match=r"metrics\.csv: missing column\(s\) 'train/loss'") as err:
        pc.read_curves(path)
    assert str(path) in str(err.value)
    assert pc.main([str(path), "--out", str(tmp_path / "x.png")]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and str(path) in stderr and "'train/loss'" in stderr
    assert not (tmp_path / "x.png").exists()


def test_a_missing_file_exits_2_without_a_traceback(tmp_path):
    missing = tmp_path / "nowhere"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--run", f"x={missing}", "--out", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        env=run_env(),
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"error: {missing}: metrics file not found" in proc.stderr
    assert "csv/metrics.csv" in proc.stderr


def test_without_wall_time_it_warns_and_draws_only_the_step_panels(tmp_path, capsys):
    path = write_metrics(tmp_path / "old", *drop_column("time/elapsed_s"))
    with pytest.warns(pc.NoWallTimeWarning, match=r"metrics\.csv: no 'time/elapsed_s' column"):
        curves = pc.read_curves(path)
    assert not curves.has_time and curves.val_time is None
    np.testing.assert_array_equal(curves.val_step, [14, 29, 44])

    out = tmp_path / "curves.png"
    assert pc.main([str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"warning: {path}: no 'time/elapsed_s' column" in captured.err
    # The run's colour (matplotlib's first, #1f77b4) is in the step panels (left), not in the
    # time panels (right).
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("RGB"))
    run_colour = (pixels == (0x1F, 0x77, 0xB4)).all(-1)
    half = pixels.shape[1] // 2
    assert run_colour[:, :half].sum() > 100
    assert run_colour[:, half:].sum() == 0


# W&B's run file format, written here as W&B writes it (LevelDB's log format): a file header,
# then 32 KiB blocks of chunks (CRC-32 of type byte and data, length, type: 1 whole record,
# 2/3/4 its first/middle/last part), zero padding where a block has no room for a chunk header.
BLOCK, FULL, FIRST, MIDDLE, LAST = 32768, 1, 2, 3, 4


def write_wandb(path: Path, rows: list[dict[str, object]], *, cut: int = 0) -> Path:
    """A W&B run file: a run record, then one history record per row (key -> value); the last
    ``cut`` bytes left off (a run still being written)."""
    from wandb.proto import wandb_internal_pb2 as pb

    records = [pb.Record(run=pb.RunRecord(run_id="abc123"))]
    for row in rows:
        record = pb.Record()
        for key, value in row.items():
            record.history.item.add(key=key, value_json=json.dumps(value))
        records.append(record)
    out = bytearray(struct.pack("<4sHB", b":W&B", 0xBEE1, 0))
    for data in (record.SerializeToString() for record in records):
        first = True
        while first or data:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += bytes(left)
                continue
            chunk, data = data[: left - 7], data[left - 7 :]
            kind = (FULL if not data else FIRST) if first else (LAST if not data else MIDDLE)
            out += struct.pack("<IHB", zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind) + chunk
            first = False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out[: len(out) - cut]))
    return path


def train(loss: float, kl: float, elapsed: float) -> dict[str, object]:
    return {"train/loss": loss, "train/kl": kl, "time/elapsed_s": elapsed, "epoch": 0}


def history(*calls: tuple[dict[str, object], int]) -> list[dict[str, object]]:
    """The rows of (metrics, step) log calls as Lightning's WandbLogger makes them (the step as
    ``trainer/global_step``) and W&B writes them (with its ``_step`` count and ``_runtime``)."""
    return [
        {**metrics, "trainer/global_step": step, "_step": count, "_runtime": 100.0 + count, "_timestamp": 1.8e9}
        for count, (metrics, step) in enumerate(calls)
    ]


def test_a_resumed_wandb_run_is_read_from_all_its_files_in_time_order(tmp_path):
    wandb_dir = tmp_path / "myrun" / "wandb"
    # The first start: train steps 9, 19, 29, a validation at 14 and a record spanning blocks (an
    # image); killed after step 29, it resumed from its checkpoint at step 19 and logged 29 again.
    write_wandb(
        wandb_dir / "offline-run-20260101_090000-abc123" / "run-abc123.wandb",
        history(
            (train(150.0, 5.0, 10.0), 9),
            ({"canvas/generation": "x" * 80_000}, 14),
            ({"val/loss": 128.0, "val/kl": 6.5}, 14),
            (train(130.0, 6.0, 20.0), 19),
            ({"lr-Adam": 1e-3}, 29),
            (train(999.0, 9.0, 30.0), 29),
        ),
    )
    later = write_wandb(
        wandb_dir / "offline-run-20260101_100000-abc123" / "run-abc123.wandb",
        history(
            (train(120.0, 7.0, 40.0), 29),
            ({"val/loss": 118.0, "val/kl": 7.2}, 29),
            (train(110.0, 7.5, 50.0), 39),
            (train(105.0, 7.6, 60.0), 49),  # being written: cut short
        ),
        cut=5,
    )
    (wandb_dir / "latest-run").symlink_to(later.parent)

    curves = pc.read_curves(tmp_path / "myrun")
    assert curves.label == "myrun" and curves.path == wandb_dir and curves.has_time
    np.testing.assert_array_equal(curves.train_step, [9, 19, 29, 39])
    np.testing.assert_array_equal(curves.train_loss, [150, 130, 120, 110])
    np.testing.assert_array_equal(curves.train_kl, [5, 6, 7, 7.5])
    np.testing.assert_array_equal(curves.train_time, [10, 20, 40, 50])
    np.testing.assert_array_equal(curves.val_step, [14, 29])
    np.testing.assert_array_equal(curves.val_loss, [128, 118])
    np.testing.assert_array_equal(curves.val_kl, [6.5, 7.2])
    np.testing.assert_allclose(curves.val_time, [15.0, 40.0])
    # One W&B file is read alone, labelled by its run.
    alone = pc.read_curves(later)
    assert alone.label == "myrun" and alone.path == later
    np.testing.assert_array_equal(alone.train_step, [29, 39])


def test_wandb_without_lightning_step_or_wall_clock_uses_w_and_b_own(tmp_path):
    """A row without ``trainer/global_step`` is at W&B's ``_step``; without ``time/elapsed_s`` the
    training rows' ``_runtime`` is the clock, and a validation's time is interpolated from them."""
    rows = [
        {"train/loss": 100.0, "train/kl": 3.0, "_step": 0, "_runtime": 5.0},
        {"val/loss": 90.0, "val/kl": 2.0, "_step": 1, "_runtime": 9.0},
        {"train/loss": 95.0, "_step": 2, "_runtime": 15.0},
    ]
    write_wandb(tmp_path / "old" / "wandb" / "offline-run-20260101_090000-x" / "run-x.wandb", rows)
    curves = pc.read_curves(tmp_path / "old")
    np.testing.assert_array_equal(curves.train_step, [0, 2])
    np.testing.assert_array_equal(curves.train_kl, [3.0, np.nan])
    np.testing.assert_array_equal(curves.train_time, [5.0, 15.0])
    np.testing.assert_array_equal(curves.val_step, [1])
    np.testing.assert_allclose(curves.val_time, [10.0])


def test_a_folder_without_any_log_exits_2_naming_it(tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "wandb").mkdir(parents=True)
    with pytest.raises(pc.CurvesError, match="no metrics in this run folder") as err:
        pc.read_curves(empty)
    assert str(empty / "csv" / "metrics.csv") in str(err.value)
    assert str(empty / "wandb" / "offline-run-*" / "run-*.wandb") in str(err.value)
    assert pc.main([str(empty), "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {empty}: no metrics in this run folder")
    assert not (tmp_path / "x.png").exists()


def test_unusable_wandb_files_are_errors_naming_them(tmp_path):
    run = tmp_path / "run" / "wandb" / "offline-run-20260101_090000-x" / "run-x.wandb"
    write_wandb(run, [{"lr-Adam": 1e-3, "trainer/global_step": 9, "_step": 0}])
    with pytest.raises(pc.CurvesError, match=r"run-x\.wandb: no 'train/loss' in the W&B history"):
        pc.read_curves(run)
    data = bytearray(run.read_bytes())
    data[-1] ^= 0xFF
    run.write_bytes(bytes(data))
    with pytest.raises(pc.CurvesError, match=r"run-x\.wandb: corrupt W&B record at byte"):
        pc.read_curves(tmp_path / "run")
    run.write_text("step,train/loss\n")
    with pytest.raises(pc.CurvesError, match=r"run-x\.wandb: not a W&B run file"):
        pc.read_curves(run)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A genuine run logged to CSV, TensorBoard and W&B offline at once: 2 epochs of 6 batches,
    logged every 2 steps, validated after each epoch."""
    cwd = tmp_path_factory.mktemp("tiny_run")
    run_task(
        "train",
        *TINY_MODEL,
        "data=binarized_mnist",
        "logger=many",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=6",
        "trainer.limit_val_batches=2",
        "trainer.log_every_n_steps=2",
        "test=false",
        "extras.print_config=false",
        cwd=cwd,
    )
    return only_run_dir(cwd, "train")


def test_curves_of_a_real_training_run(tiny_run, tmp_path):
    curves = pc.read_curves(tiny_run)
    assert curves.path == tiny_run / "csv" / "metrics.csv"  # the CSV log first
    assert len(curves.val_step) == 2  # one validation per epoch (the sanity check is not logged)
    assert len(curves.train_step) == 12 // 2
    assert curves.has_time
    assert np.all(np.diff(curves.train_time) > 0)
    assert np.all((curves.val_time > 0) & (curves.val_time <= curves.train_time[-1] * 1.5))
    assert np.isfinite(curves.val_loss).all() and np.isfinite(curves.val_kl).all()

    out = tmp_path / "curves.png"
    assert pc.plot_curves([curves], out, title="tiny") == out
    with Image.open(out) as image:
        assert image.size == (round(pc.FIGSIZE[0] * pc.DPI), round(pc.FIGSIZE[1] * pc.DPI))


def test_wandb_curves_of_a_real_run_equal_its_csv_curves(tiny_run, tmp_path):
    """The same run's W&B offline file gives the CSV log's points: same steps (Lightning's
    ``trainer/global_step``), values and wall times."""
    from_csv = pc.read_curves(tiny_run)
    (record,) = (tiny_run / "wandb").glob("offline-run-*/run-*.wandb")
    # A run folder with only its W&B files (logger=wandb) is read from them.
    only_wandb = tmp_path / tiny_run.name
    shutil.copytree(tiny_run / "wandb", only_wandb / "wandb", symlinks=True)
    from_wandb = pc.read_curves(only_wandb)
    assert from_wandb.path == only_wandb / "wandb" and from_wandb.label == from_csv.label == tiny_run.name
    assert pc.read_curves(record).label == tiny_run.name

    for name in ("train_step", "val_step"):
        np.testing.assert_array_equal(getattr(from_wandb, name), getattr(from_csv, name), err_msg=name)
    for name in ("train_loss", "train_kl", "train_time", "val_loss", "val_kl", "val_time"):
        np.testing.assert_allclose(getattr(from_wandb, name), getattr(from_csv, name), atol=1e-4, err_msg=name)
    assert len(from_wandb.train_step) == 6 and len(from_wandb.val_step) == 2

    out = tmp_path / "curves.png"
    assert pc.main([str(only_wandb), "--run", f"csv={tiny_run}", "--out", str(out)]) == 0
    assert out.is_file()


def test_a_label_given_twice_merges_a_run_and_its_resumption(tmp_path) -> None:
    """The resumed part wins where both logged a step; steps and times stay in order."""
    header = "step,time/elapsed_s,train/kl,train/loss,val/kl,val/loss"
    first = write_metrics(tmp_path / "first", header, ["49,10.0,1.0,200.0,,", "99,20.0,2.0,190.0,,"])
    resumed = write_metrics(
        tmp_path / "resumed", header, ["99,20.5,2.5,189.0,,", "149,30.0,3.0,180.0,,", "149,,,,3.1,185.0"]
    )
    merged = pc.merge_curves([pc.read_curves(first, "run"), pc.read_curves(resumed, "run")])
    assert merged.train_step.tolist() == [49, 99, 149]
    assert merged.train_loss.tolist() == [200.0, 189.0, 180.0]
    assert merged.train_time.tolist() == [10.0, 20.5, 30.0]
    assert merged.val_step.tolist() == [149] and merged.val_time.tolist() == [30.0]
    out = tmp_path / "merged.png"
    assert pc.main(["--run", f"run={first}", "--run", f"run={resumed}", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
