"""scripts/plot_curves.py: curves parsed from Lightning CSV logs, the PNG, and its errors."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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


def test_curves_of_a_real_training_run(tmp_path):
    """A genuine CSV log: 2 epochs of 6 batches, logged every 2 steps, validated after each epoch."""
    run_task(
        "train",
        *TINY_MODEL,
        "data=binarized_mnist",
        "logger=csv",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=6",
        "trainer.limit_val_batches=2",
        "trainer.log_every_n_steps=2",
        "test=false",
        "extras.print_config=false",
        cwd=tmp_path,
    )
    run_dir = only_run_dir(tmp_path, "train")
    curves = pc.read_curves(run_dir)
    assert curves.path == run_dir / "csv" / "metrics.csv"
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
