"""Every benchmark runs end to end in smoke mode (tiny sizes, no timing asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
