"""Every benchmark runs end to end in smoke mode (tiny sizes, no timing asserted), and the
straightforward and legacy comparators compute the package DRAW's function."""

import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from draw_lightning.models import DRAW

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
TRAIN_VARIANTS = (
    "readable",
    "readable, compiled",
    "readable, checkpointed",
    "straightforward",
    "legacy unrolled, compiled",
    "legacy unrolled",
)
GPU_VARIANTS = ("eager fp32", "eager bf16 autocast", "compiled", "compiled bf16 autocast", "compiled reduce-overhead")


def smoke_run(script: str, tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``benchmarks/<script> --smoke <options>``: (the process, its JSON results)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.setdefault("DRAW_DATA_DIR", str(ROOT / "../shared/data"))
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke", *options, "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


def table_line(stdout: str, variant: str, width: int) -> str:
    """The row of the table printed last (below its header ``variant ...``) whose first ``width``
    characters name ``variant``."""
    table = stdout[stdout.rindex("\nvariant") :]
    (line,) = [line for line in table.splitlines() if line[:width].strip() == variant]
    return line


def benchmark_module(name: str):
    """``benchmarks/<name>.py`` imported as a module (``benchmarks/`` on the path, as when run)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


def legacy_available() -> bool:
    legacy = benchmark_module("legacy_draw")
    try:
        legacy.load(legacy.DEFAULT_COMMIT)
    except legacy.LegacyUnavailable:
        return False
    return True


@pytest.mark.parametrize(
    ("script", "figure", "tolerance"),
    [("bench_sample.py", "canvas_max_abs_diff", 1e-5), ("bench_eval.py", "bound_max_abs_diff", 1e-3)],
)
def test_sample_and_eval_benchmarks_smoke_run(script: str, figure: str, tolerance: float, tmp_path: Path) -> None:
    """DRAW and the comparator agree before timing; both are timed against the matmul reference."""
    proc, results = smoke_run(script, tmp_path, "--threads", "1")
    rows = {row["variant"]: row for row in results["runs"]}
    assert set(rows) == {"readable", "straightforward"}
    for row in rows.values():
        assert row["images_per_s"] > 0 and row["attainable_gflops"] > 0
        assert 0 <= row[figure] < tolerance
        # the printed table shows the rate written to the JSON
        assert f"{row['images_per_s']:.1f}" in table_line(proc.stdout, f"{row['variant']} @1t", 40).split()
    assert results["machine"]["torch"]
    assert "attainable matmul" in proc.stdout


def test_train_benchmark_smoke_run(tmp_path: Path) -> None:
    """Every variant in one process: same loss and gradients before timing, rates, memory, ratios."""
    proc, results = smoke_run("bench_train.py", tmp_path, "--procs", "1", "--checkpoint")
    expected = TRAIN_VARIANTS if legacy_available() else TRAIN_VARIANTS[:4]
    if len(expected) < len(TRAIN_VARIANTS):
        assert "note: legacy variants skipped" in proc.stdout
    rows = {row["variant"]: row for row in results["runs"]}
    assert tuple(rows) == expected and results["variants"] == list(expected)
    for row in rows.values():
        assert (row["processes"], row["threads_per_process"], row["batch"]) == (1, 1, 8)
        assert row["images_per_s"] > 0 and row["first_call_s"] > 0
        assert row["loss_max_abs_diff"] <= 1e-4 * abs(row["loss_mean"]) + 1e-3
        assert row["grad_max_rel_diff"] < 1e-4
        assert row["kept_mb"] > 0 and row["saved_tensor_mb"] > 0
        assert len(row["round_wall_s"]) == results["repeats"] == 1
    assert len({round(row["loss_mean"], 2) for row in rows.values()}) == 1
    # Checkpointing keeps less than the eager graph: the memory figure measures something.
    assert rows["readable, checkpointed"]["kept_mb"] < 0.8 * rows["readable"]["kept_mb"]
    for row in rows.values():  # the printed table shows the rate written to the JSON
        assert f"{row['images_per_s']:.1f}" in table_line(proc.stdout, row["variant"], 28).split()
    assert "first call" in proc.stdout and "kept MB" in proc.stdout


@pytest.mark.slow  # ~10 s: two spawned processes
def test_train_benchmark_ddp_smoke_run(tmp_path: Path) -> None:
    """Two spawned gloo ranks run the eager variants in lockstep; rank 0 reports its half of the batch."""
    variants = "readable,straightforward" + (",legacy" if legacy_available() else "")
    proc, results = smoke_run("bench_train.py", tmp_path, "--procs", "2", "--variants", variants)
    rows = {row["variant"]: row for row in results["runs"]}
    assert set(rows) == {"readable", "straightforward"} | ({"legacy unrolled"} if "legacy" in variants else set())
    for row in rows.values():
        assert (row["processes"], row["batch"], row["batch_per_process"]) == (2, 8, 4)
        assert row["images_per_s"] > 0 and row["loss_max_abs_diff"] < 1e-3 and row["kept_mb"] > 0
        assert row["vs readable, compiled"] is None  # not run: no ratio


def test_train_benchmark_refuses_to_time_different_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loss check before timing fails when a variant computes something else."""
    bench_train = benchmark_module("bench_train")
    args = bench_train.parse_args(["--smoke", "--procs", "1", "--variants", "readable,straightforward"])
    build = bench_train.build_variants

    def perturbed(*a, **k):
        models = build(*a, **k)
        with torch.no_grad():
            models["straightforward"].write_patch.bias.add_(0.1)
        return models

    monkeypatch.setattr(bench_train, "build_variants", perturbed)
    with pytest.raises(bench_train.CheckFailed, match="straightforward: loss differs"):
        bench_train.run_configuration(0, 1, args, args.variant_list)


def check_gpu_results(proc: subprocess.CompletedProcess, results: dict, variants: tuple[str, ...]) -> None:
    """bench_gpu.py's JSON on a CPU: the CUDA-graph variant skipped with a note, the others checked and timed."""
    assert tuple(results["variants"]) == variants and results["device"] == "cpu"
    for name in variants:
        r = results["variants"][name]
        if name == "compiled reduce-overhead":
            assert r["status"] == "skipped" and "CUDA" in r["note"]
            assert "note: compiled reduce-overhead: skipped" in proc.stdout
            continue
        assert r["status"] == "ok", r
        bf16 = "bf16" in name
        for reference in ("vs_eager_fp32", "vs_eager_fp64"):
            check = r["check"][reference]
            assert check["loss_rel_diff"] < (1e-2 if bf16 else 1e-6)
            assert check["grad_cosine"] > (0.99 if bf16 else 0.99999)
        figures = r["batches"]["8"]
        assert figures["images_per_s"] > 0 and figures["first_call_s"] > 0
        # the summary table shows the JSON's figures
        cells = table_line(proc.stdout, name, 26).split()
        assert f"{figures['images_per_s']:.0f}" in cells and f"{figures['hours_for_100_epochs']:.2f}" in cells
        if bf16:  # autocast is in effect: the loss is not the float32 one
            assert r["check"]["vs_eager_fp32"]["loss_rel_diff"] > 1e-5


def test_gpu_benchmark_smoke_run(tmp_path: Path) -> None:
    """bench_gpu.py --smoke on the CPU: eager, compiled under bf16 autocast, and a CUDA-only variant skipped."""
    variants = ("eager fp32", "compiled bf16 autocast", "compiled reduce-overhead")
    proc, results = smoke_run("bench_gpu.py", tmp_path, "--variants", ",".join(variants))
    check_gpu_results(proc, results, variants)


@pytest.mark.slow  # ~25 s: a process per variant, two compiled
def test_gpu_benchmark_smoke_run_every_variant(tmp_path: Path) -> None:
    proc, results = smoke_run("bench_gpu.py", tmp_path)
    check_gpu_results(proc, results, GPU_VARIANTS)


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
    """``benchmarks/straightforward_draw.py``, the benchmarks' independent comparator."""
    return benchmark_module("straightforward_draw")


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


@pytest.mark.parametrize(
    ("image_shape", "options"),
    [
        ((1, 28, 28), {}),
        ((2, 12, 20), dict(read_n=3, write_n=4)),
        ((1, 10, 9), dict(read_attention=False)),
        ((1, 10, 9), dict(write_attention=False, window_init="paper")),
    ],
)
def test_straightforward_draw_loads_a_draws_state_dict(image_shape, options) -> None:
    """``StraightforwardDRAW.like(draw)``: the same loss and gradients for the same generator (float64)."""
    sd = _straightforward_draw()
    torch.manual_seed(0)
    draw = DRAW(image_shape=image_shape, num_steps=3, enc_hidden=12, dec_hidden=10, z_dim=4, **options).double()
    with torch.no_grad():  # windows away from their initial bias, so every path of the filterbank counts
        for layer in (draw.read_window, draw.write_window):
            if layer is not None:
                layer.bias.add_(torch.randn(5, dtype=torch.float64))
    theirs = sd.StraightforwardDRAW.like(draw)
    assert theirs.state_dict().keys() == draw.state_dict().keys()
    x = (torch.rand(5, *image_shape) > 0.6).double()
    ours_out = draw(x, generator=torch.Generator().manual_seed(1))
    theirs_out = theirs(x, generator=torch.Generator().manual_seed(1))
    for field in ("loss", "kl", "log_weight"):
        torch.testing.assert_close(getattr(theirs_out, field), getattr(ours_out, field), rtol=0, atol=1e-6)
    ours_out.loss.sum().backward()
    theirs_out.loss.sum().backward()
    for key, p in draw.named_parameters():
        torch.testing.assert_close(dict(theirs.named_parameters())[key].grad, p.grad, rtol=0, atol=1e-6)
    noise = torch.randn(3, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(
        theirs.generate(4, noise=noise), draw.generate(4, noise=noise).canvases, rtol=0, atol=1e-9
    )


def test_legacy_draw_is_the_same_function() -> None:
    """The legacy unrolled DRAW of ``--legacy-commit``, loaded from git, holds a DRAW's weights and gives its loss."""
    if not legacy_available():
        pytest.skip("git or commit 07c3fa3 not available")
    legacy = benchmark_module("legacy_draw").load()
    assert legacy.__name__ == "legacy_draw_models" and "draw_lightning" not in legacy.DRAW.__module__
    torch.manual_seed(0)
    config = dict(num_steps=3, enc_hidden=12, dec_hidden=10, z_dim=4, read_n=2, write_n=5)
    draw = DRAW(image_shape=(1, 28, 28), **config).double()
    old = legacy.DRAW(image_shape=(1, 28, 28), **config).double()
    old.load_state_dict(draw.state_dict())
    x = (torch.rand(5, 1, 28, 28) > 0.6).double()
    a, b = draw(x, generator=torch.Generator().manual_seed(1)), old(x, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(b.loss, a.loss, rtol=0, atol=1e-6)
    a.loss.sum().backward()
    b.loss.sum().backward()
    for key, p in draw.named_parameters():
        torch.testing.assert_close(dict(old.named_parameters())[key].grad, p.grad, rtol=0, atol=1e-6)
