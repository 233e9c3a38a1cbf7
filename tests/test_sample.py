"""The sample command on the checkpoint of a short real training run."""

import subprocess
import sys

from PIL import Image

from tests.conftest import only_run_dir, run_env, run_task

T, CELL, PAD = 4, 28 * 2 + 2, 2


def test_sample_writes_grid_sequence_and_gif_of_the_right_sizes(trained_ckpt, tmp_path):
    run_task("sample", f"ckpt_path={trained_ckpt}", "n=10", "seed=3", "temperature=0.8", cwd=tmp_path)
    run = only_run_dir(tmp_path, "sample")
    # 10 samples: 4 per row, 3 rows, each 28 x 2 pixels plus padding
    assert Image.open(run / "samples.png").size == (4 * CELL + PAD, 3 * CELL + PAD)
    # sequence: rows = the first 8 samples, columns = all T = 4 steps
    assert Image.open(run / "sequence.png").size == (T * CELL + PAD, 8 * CELL + PAD)
    with Image.open(run / "generation.gif") as gif:
        assert gif.n_frames == T and gif.size == (4 * CELL + PAD, 3 * CELL + PAD + PAD)
    # the W&B offline run got the same pictures
    media = next((run / "wandb").glob("offline-run-*")) / "files" / "media"
    assert len(list((media / "images" / "sample").glob("*.png"))) == 2
    assert len(list((media / "videos" / "sample").glob("*.gif"))) == 1


def test_same_seed_gives_the_same_samples(trained_ckpt, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        run_task("sample", f"ckpt_path={trained_ckpt}", "n=4", "seed=5", "logger=none", cwd=tmp_path / name)
    a, b = (Image.open(only_run_dir(tmp_path / n, "sample") / "samples.png") for n in ("a", "b"))
    assert a.tobytes() == b.tobytes()


def test_bad_sample_count_is_named(trained_ckpt, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "draw_lightning.sample", f"ckpt_path={trained_ckpt}", "n=0", "logger=none"],
        cwd=tmp_path,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "n (number of samples) must be an integer >= 1, got 0" in proc.stderr
