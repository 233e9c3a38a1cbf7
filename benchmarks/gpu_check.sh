#!/usr/bin/env bash
# GPU check of DRAW (benchmarks/bench_gpu.py): values of fp32 / bf16 autocast / compiled on CUDA,
# and training img/s at batch 100 and 1000 per variant, in under 8 minutes on one GPU.
#
#   bash benchmarks/gpu_check.sh [bench_gpu.py options, e.g. --variants "eager fp32,compiled"]
#
# From any directory; runs in the repository root. Python: $GPU_CHECK_VENV (default .venv) if it
# exists, else a new venv of python3 that sees the system's packages (a preinstalled torch).
# torch is pip-installed only if it does not import; draw_lightning only if it does not import:
# `pip install -e . --no-deps` (the models need only torch; works without PyPI), with
# GPU_CHECK_FULL_INSTALL=1 `pip install -e .` with every dependency; if both fail, PYTHONPATH=src.
# Results: $OUT/gpu_check.json (and the log $OUT/gpu_check.log) when $OUT is set, else
# benchmarks/results/gpu_check_<time>.json. Total time limit: $GPU_CHECK_SECONDS (default 470).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
START=$SECONDS
TOTAL=${GPU_CHECK_SECONDS:-470}
VENV=${GPU_CHECK_VENV:-.venv}
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    exec > >(tee -a "$OUT/gpu_check.log") 2>&1
fi
log() { echo "[gpu_check +$((SECONDS - START))s] $*"; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

if [ -x "$VENV/bin/python" ]; then
    PY="$VENV/bin/python"
elif python3 -m venv --system-site-packages "$VENV" >/dev/null 2>&1; then
    PY="$VENV/bin/python"
    log "created $VENV (with the system's site-packages)"
else
    PY=python3
    log "python3 -m venv failed: using python3 itself"
fi
log "python: $PY ($("$PY" --version 2>&1))"

if ! "$PY" -c "import torch" 2>/dev/null; then
    log "torch does not import: pip install torch"
    if ! timeout 240 "$PY" -m pip install -q torch; then
        log "error: no torch and it could not be installed (PyPI unreachable?)"
        exit 1
    fi
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'available', torch.cuda.is_available())"

if ! "$PY" -c "import draw_lightning.models" 2>/dev/null; then
    if [ "${GPU_CHECK_FULL_INSTALL:-0}" = 1 ]; then
        log "draw_lightning does not import: pip install -e ."
        timeout 300 "$PY" -m pip install -q -e . || log "pip install -e . failed"
    else
        log "draw_lightning does not import: pip install -e . --no-deps"
        timeout 120 "$PY" -m pip install -q --no-deps --no-build-isolation -e . \
            || timeout 120 "$PY" -m pip install -q --no-deps -e . \
            || log "pip install -e . --no-deps failed"
    fi
    if ! "$PY" -c "import draw_lightning.models" 2>/dev/null; then
        export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
        log "using PYTHONPATH=src"
        "$PY" -c "import draw_lightning.models" || { log "error: draw_lightning.models does not import"; exit 1; }
    fi
fi

# What is left of the total, less a margin for the driver's own start and summary.
LEFT=$((TOTAL - (SECONDS - START)))
BUDGET=$((LEFT - 40))
if [ "$BUDGET" -lt 60 ]; then
    log "error: only $LEFT s left of $TOTAL after the setup"
    exit 1
fi
log "running benchmarks/bench_gpu.py, budget ${BUDGET} s for the variants"
timeout --kill-after=10 "$((LEFT - 5))" "$PY" benchmarks/bench_gpu.py --budget "$BUDGET" "$@"
CODE=$?
log "done, exit code $CODE"
exit $CODE
