"""Every benchmark runs end to end in smoke mode (tiny sizes, no timing asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["bench_train.py", "bench_sample.py", "bench_eval.py"])
def test_benchmark_smoke_run(script: str, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.setdefault("DRAW_DATA_DIR", str(ROOT / "../shared/data"))
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--threads", "1", "--json", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    rows = {row["variant"]: row for row in results["runs"]}
    assert {"optimised", "baseline"} <= set(rows)
    assert rows["optimised"]["images_per_s"] > 0 and rows["optimised"]["attainable_gflops"] > 0
    assert rows["baseline"]["speedup_vs_baseline"] == pytest.approx(1.0)
    assert results["machine"]["torch"]
    assert "attainable matmul" in proc.stdout
