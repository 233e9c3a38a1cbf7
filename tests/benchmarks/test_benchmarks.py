"""Every benchmark runs end to end in smoke mode (tiny sizes, no timing asserted)."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def smoke_run(script: str, tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``benchmarks/<script> --smoke --threads 1 <options>``: (the process, its JSON results)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.setdefault("DRAW_DATA_DIR", str(ROOT / "../shared/data"))
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--threads", "1", *options, "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


@pytest.mark.parametrize("script", ["bench_train.py", "bench_sample.py", "bench_eval.py"])
def test_benchmark_smoke_run(script: str, tmp_path: Path) -> None:
    proc, results = smoke_run(script, tmp_path)
    rows = {row["variant"]: row for row in results["runs"]}
    assert {"optimised", "baseline"} <= set(rows)
    assert rows["optimised"]["images_per_s"] > 0 and rows["optimised"]["attainable_gflops"] > 0
    assert rows["baseline"]["speedup_vs_baseline"] == pytest.approx(1.0)
    assert results["machine"]["torch"]
    assert "attainable matmul" in proc.stdout


def test_train_benchmark_ddp_smoke_run(tmp_path: Path) -> None:
    """``--ddp 2`` spawns two gloo ranks, checks one step against the full batch and times both models."""
    proc, results = smoke_run("bench_train.py", tmp_path, "--ddp", "2")
    rows = {row["variant"]: row for row in results["runs"]}
    for name in ("optimised, DDP 2x1t", "baseline, DDP 2x1t"):
        row = rows[name]
        assert row["processes"] == 2 and row["threads"] == 1 and row["batch_per_process"] == 4
        assert row["images_per_s"] > 0 and row["images_per_cpu_s"] > 0
        assert row["attainable_gflops"] > 0 and row["speedup_vs_baseline"] > 0
    assert rows["optimised"]["processes"] == 1
    for model in ("optimised", "baseline"):
        assert f"DDP check ({model}, 2 ranks x 4 images): one step equals the full-batch step" in proc.stdout
    assert "attainable matmul, 2 procs x 1t" in proc.stdout


def test_data_benchmark_smoke_run(tmp_path: Path) -> None:
    """bench_data.py end to end on tiny sizes: loader and training rates, and the RSS table of both readers."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.setdefault("DRAW_DATA_DIR", str(ROOT / "../shared/data"))
    script = str(ROOT / "benchmarks" / "bench_data.py")
    args = ("--rows", "1000", "2000", "--steps", "1", "--batches", "3")
    proc = subprocess.run(
        [sys.executable, script, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "loader, batch reads" in proc.stdout and "DRAW training step" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.strip().startswith(("1,000", "2,000"))]
    assert {(r.split()[0], r.split()[1]) for r in rows} == {
        ("1,000", "loader"),
        ("1,000", "memmap"),
        ("2,000", "loader"),
        ("2,000", "memmap"),
    }
    assert "loader: peak RSS x" in proc.stdout and "memmap: peak RSS x" in proc.stdout


def _straightforward_draw():
    """``benchmarks/straightforward_draw.py``, the convergence benchmark's independent comparator."""
    spec = importlib.util.spec_from_file_location(
        "straightforward_draw", ROOT / "benchmarks" / "straightforward_draw.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_convergence_benchmark_smoke_run(tmp_path: Path) -> None:
    """bench_convergence.py trains both models at once for 12 s: curves, summary table and plot."""
    png = tmp_path / "curves.png"
    proc, results = smoke_run(
        "bench_convergence.py", tmp_path, "--minutes", "0.2", "--eval-every-s", "3", "--png", str(png)
    )
    assert set(results["models"]) == {"tile", "paper"}
    for run in results["models"].values():
        points = run["points"]
        assert len(points) >= 2 and run["steps"] > 0
        for point in points:
            assert math.isfinite(point["val_loss"]) and math.isfinite(point["val_kl"]) and point["val_kl"] >= 0
            assert point["val_loss"] == pytest.approx(point["val_kl"] + point["val_rec"], rel=1e-6)
        times = [p["train_s"] for p in points]
        assert times[0] == 0 and all(b > a for a, b in zip(times[:-1], times[1:], strict=True))
        assert points[-1]["train_s"] >= 0.2 * 60
    assert 150 < results["data_mean_bound"] < 260
    assert "to first reach validation -ELBO <= threshold" in proc.stdout
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 0 and image.height > 0
        image.load()


def test_straightforward_filterbank_rows_sum_to_one() -> None:
    """Inside the image each filter is a normalised Gaussian centred at g + (i - N/2 - 0.5) delta."""
    sd = _straightforward_draw()
    n, size = 5, 28
    center, stride, variance = torch.tensor([14.5, 12.0]), torch.tensor([3.0, 2.5]), torch.tensor([2.0, 1.0])
    f = sd.filterbank(center, stride, variance, n=n, size=size).double()
    assert f.shape == (2, n, size)
    torch.testing.assert_close(f.sum(-1), torch.ones(2, n, dtype=torch.float64), rtol=0, atol=1e-6)
    pixels = torch.arange(1, size + 1, dtype=torch.float64)
    means = (f * pixels).sum(-1)
    expected = center[:, None] + (torch.arange(1, n + 1) - n / 2 - 0.5) * stride[:, None]
    torch.testing.assert_close(means, expected.double(), rtol=0, atol=1e-4)
    spread = (f * (pixels - means[..., None]) ** 2).sum(-1)
    torch.testing.assert_close(spread, variance[:, None].double().expand(2, n), rtol=1e-3, atol=1e-3)


def test_straightforward_window_at_init_is_the_papers() -> None:
    """Zero bias: the first read window is centred, stride (max(A, B) - 1) / (N - 1), sigma 1, gamma 1."""
    sd = _straightforward_draw()
    model = sd.StraightforwardDRAW(image_shape=(1, 28, 28), num_steps=2, enc_hidden=16, dec_hidden=16, z_dim=4)
    for layer, n in ((model.read_window, 2), (model.write_window, 5)):
        assert torch.count_nonzero(layer.bias) == 0
        w = sd.window(layer.bias[None].detach(), width=28, height=28, n=n)
        assert (w.center_x.item(), w.center_y.item()) == (14.5, 14.5)
        assert w.stride.item() == pytest.approx(27 / (n - 1))
        assert w.variance.item() == pytest.approx(1.0) and w.intensity.item() == pytest.approx(1.0)
    # The first read comes from the zero initial decoder state: exactly the bias, a grid on the border pixels.
    with torch.no_grad():
        w = sd.window(model.read_window(model.dec_state0[:1]), width=28, height=28, n=2)
        f = sd.filterbank(w.center_x, w.stride, w.variance, n=2, size=28)
    assert f[0].argmax(-1).tolist() == [0, 27]


def test_straightforward_draw_computes_the_projects_equations() -> None:
    """With the same weights and noise it gives DRAW(window_init="paper")'s losses: only the init differs."""
    from draw_lightning.models import DRAW

    sd = _straightforward_draw()
    config = dict(num_steps=3, enc_hidden=16, dec_hidden=16, z_dim=4, read_n=2, write_n=5)
    torch.manual_seed(0)
    theirs = sd.StraightforwardDRAW(image_shape=(1, 28, 28), **config)
    ours = DRAW(image_shape=(1, 28, 28), window_init="paper", **config)
    ours.load_state_dict(theirs.state_dict())
    x = (torch.rand(8, 1, 28, 28) > 0.7).float()
    a = theirs(x, generator=torch.Generator().manual_seed(1))
    b = ours(x, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.loss, b.loss, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(a.kl, b.kl, rtol=1e-5, atol=1e-4)
