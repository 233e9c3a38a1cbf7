"""Shared parts of the benchmarks: data, models, analytic FLOPs, timing, memory, machine info."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from straightforward_draw import StraightforwardDRAW

from draw_lightning.models import DRAW
from draw_lightning.utils.runtime import keep_freed_memory

# The paper's MNIST generation setting (Gregor et al. 2015, table 3).
PAPER_MNIST = dict(num_steps=64, enc_hidden=256, dec_hidden=256, z_dim=100, read_n=2, write_n=5)
SMOKE_MNIST = dict(PAPER_MNIST, num_steps=4)
IMAGE_SHAPE = (1, 28, 28)
STRAIGHTFORWARD = "straightforward"  # the comparator's variant name in every benchmark
MNIST_FILE = "binarized_mnist/binarized_mnist.npz"


def add_common_args(parser: argparse.ArgumentParser, *, threads: bool = True) -> None:
    if threads:
        parser.add_argument("--threads", default="1,2", help="intra-op thread counts to compare, e.g. 1,2")
        parser.add_argument("--no-straightforward", action="store_true", help="skip the straightforward comparator")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timing rounds; medians reported")
    parser.add_argument("--smoke", action="store_true", help="a few tiny steps: checks the script, times nothing")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's malloc as it is (by default freed memory is kept for reuse, as train/eval/sample do)",
    )


def apply_runtime(args: argparse.Namespace) -> None:
    """The process-wide settings of train/eval/sample, for every variant alike (one process)."""
    if not args.default_malloc:
        keep_freed_memory()


def thread_counts(spec: str) -> list[int]:
    counts = [int(s) for s in spec.split(",") if s.strip()]
    if not counts or min(counts) < 1:
        raise SystemExit(f"--threads must list integers >= 1, got {spec!r}")
    return counts


def data_dir() -> Path:
    return Path(os.environ.get("DRAW_DATA_DIR", Path(__file__).resolve().parents[1] / "../shared/data"))


def binarized_mnist(count: int) -> torch.Tensor:
    """The first ``count`` training images of binarized MNIST as floats ``(count, 1, 28, 28)``."""
    path = data_dir() / MNIST_FILE
    if not path.is_file():
        raise SystemExit(f"binarized MNIST not found at {path}; set DRAW_DATA_DIR to the shared data folder")
    train = np.load(path)["train"][:count]
    return torch.from_numpy(train.astype(np.float32)).view(-1, *IMAGE_SHAPE)


def models(config: dict, seed: int) -> tuple[DRAW, StraightforwardDRAW]:
    """The package's DRAW (``seed``'s weights) and the straightforward comparator holding the very same weights.

    The comparator normalises its filter rows exactly (softmax) and bounds the log-parameters as
    the package does (``StraightforwardDRAW.like``), so the two compute the same function.
    """
    torch.manual_seed(seed)
    model = DRAW(image_shape=IMAGE_SHAPE, **config)
    return model, StraightforwardDRAW.like(model)


def forward_flops_per_image(config: dict, image_shape: tuple[int, int, int] = IMAGE_SHAPE) -> dict[str, int]:
    """Matrix-product FLOPs (2 per multiply-add) of one image's forward pass, by part.

    Counts the paper's equations for T steps; element-wise work (gates, filterbank exponentials)
    is left out, so achieved/attainable is a rate of useful matrix arithmetic.
    """
    c, height, width = image_shape
    steps, he, hd, z = config["num_steps"], config["enc_hidden"], config["dec_hidden"], config["z_dim"]
    rn, wn = config["read_n"], config["write_n"]
    read_size = 2 * c * rn * rn
    parts = {
        "encoder_lstm": 2 * 4 * he * (read_size + hd + he),
        "latent": 2 * he * 2 * z,
        "decoder_lstm": 2 * 4 * hd * (z + hd),
        "decoder_heads": 2 * hd * (c * wn * wn + 5 + 5),
        "read_filterbank": 2 * c * (2 * rn * height * width + 2 * rn * width * rn),  # x and x̂
        "write_filterbank": c * (2 * height * wn * wn + 2 * height * wn * width),
    }
    return {name: steps * flops for name, flops in parts.items()}


def decoder_flops_per_image(config: dict, image_shape: tuple[int, int, int] = IMAGE_SHAPE) -> int:
    """Matrix-product FLOPs of one generated image (decoder, heads and write only)."""
    parts = forward_flops_per_image(config, image_shape)
    return parts["decoder_lstm"] + parts["decoder_heads"] + parts["write_filterbank"]


def lstm_gemm_shapes(config: dict, batch: int) -> list[tuple[int, int, int]]:
    """``(m, k, n)`` of the encoder LSTM's products in forward and backward (gates 4H wide)."""
    he, hd = config["enc_hidden"], config["dec_hidden"]
    return [
        (batch, he + hd, 4 * he),  # forward: gates from the hidden inputs
        (batch, 4 * he, he + hd),  # backward: gradient of the inputs
        (4 * he, batch, he + hd),  # backward: gradient of the weights
    ]


def matmul_flops(shapes: list[tuple[int, int, int]], reps: int = 20) -> Callable[[], int]:
    """A run of dense fp32 matmuls over ``shapes``; returns the FLOPs it did (time it outside)."""
    pairs = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)

    def run() -> int:
        for _ in range(reps):
            for a, b in pairs:
                torch.mm(a, b)
        return reps * flops

    run()  # warm-up
    return run


def time_interleaved(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Run each case once per round, rounds interleaved, so background load hits all alike.

    Records wall seconds and process CPU seconds: on a shared machine the CPU time of a
    one-thread run is what the work cost, the wall time also counts waiting for a core.
    """
    times = {name: {"wall": [], "cpu": []} for name in cases}
    for _ in range(repeats):
        for name, run in cases.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            times[name]["cpu"].append(cpu)
            times[name]["wall"].append(wall)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def saved_activation_bytes(run: Callable[[], torch.Tensor]) -> int:
    """Bytes of distinct tensor storages autograd saves for backward while ``run()`` builds a graph.

    A saved-tensor hook: sees eager saves and those of compiled graphs and custom autograd
    functions (``save_for_backward``), parameters and inputs included; not what
    ``torch.utils.checkpoint`` keeps outside ``save_for_backward`` (tuple arguments of a step).
    :func:`heap_kept_bytes` counts everything.
    """
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = run()
    del loss
    return sum(storages.values())


_MALLINFO2_FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2``: ``uordblks`` bytes in use in the heap, ``hblkhd`` in mmap'd blocks."""

    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS]


def _heap_in_use() -> int | None:
    """Bytes malloc has handed out and not taken back (glibc >= 2.33 ``mallinfo2``), or ``None`` elsewhere."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def heap_kept_bytes(run: Callable[[], torch.Tensor]) -> int | None:
    """Growth of malloc's bytes in use over ``run()`` while its result (a loss with its graph) is alive.

    Everything the graph keeps for backward on the CPU, whoever allocated it: eager autograd,
    compiled graphs and the inputs that ``torch.utils.checkpoint`` holds per step (Python tuples
    that saved-tensor hooks do not see); not the parameters or the input batch, which exist
    before. Exact, unlike RSS (freed memory that malloc keeps is not counted). ``None`` without
    glibc's ``mallinfo2``.
    """
    gc.collect()
    before = _heap_in_use()
    if before is None:
        return None
    loss = run()
    kept = _heap_in_use() - before
    del loss
    return kept


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, str | int]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count() or 0,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_avg_1min": f"{os.getloadavg()[0]:.2f}",
    }


def report(results: dict, path: Path | None) -> None:
    results["machine"] = machine()
    if path is not None:
        path.write_text(json.dumps(results, indent=2))
        print(f"results written to {path}")


def check_close(name: str, ours: torch.Tensor, theirs: torch.Tensor, *, rtol: float, atol: float) -> float:
    """Largest absolute difference; exits with an error naming ``name`` beyond tolerance."""
    diff = (ours - theirs).abs().max().item()
    if not torch.allclose(ours, theirs, rtol=rtol, atol=atol):
        raise SystemExit(
            f"{name}: DRAW and the straightforward comparator differ by {diff:.3g} (rtol {rtol}, atol {atol})"
        )
    return diff


def attainable_case(shapes: list[tuple[int, int, int]], threads: int) -> tuple[Callable[[], None], int]:
    """A timing case of dense matmuls on ``shapes`` at ``threads``, and the FLOPs of one round."""
    torch.set_num_threads(threads)
    matmuls = matmul_flops(shapes)
    flops = matmuls()

    def run() -> None:
        torch.set_num_threads(threads)
        matmuls()

    return run, flops


def summarise(
    times: dict[str, dict[str, list[float]]],
    *,
    variants: list[str],
    threads_list: list[int],
    images_per_round: int,
    flops_per_image: float,
    attainable_flops: int,
    extra: dict[str, dict] | None = None,
) -> list[dict]:
    """Print and return one row per variant and thread count: medians of wall and CPU rates.

    Cases are named ``"<variant> @<threads>t"``, the matmul reference ``"attainable matmul @<threads>t"``;
    speed-ups are against the variant named ``straightforward`` at the same thread count.
    """
    rows = []
    header = f"{'variant':<40}{'img/s':>8}{'img/CPU-s':>10}{'GFLOP/s':>9}{'of attainable':>14}{'vs straightf.':>14}"
    print(header + "   (wall; CPU-time figures in brackets)")
    for threads in threads_list:
        attainable = {
            kind: attainable_flops / median(times[f"attainable matmul @{threads}t"][kind]) for kind in ("wall", "cpu")
        }
        base = times.get(f"{STRAIGHTFORWARD} @{threads}t")
        for name in variants:
            t = times[f"{name} @{threads}t"]
            wall, cpu = median(t["wall"]), median(t["cpu"])
            row = {
                "variant": name,
                "threads": threads,
                "processes": 1,
                "images_per_s": images_per_round / wall,
                "images_per_cpu_s": images_per_round / cpu,
                "gflops": images_per_round * flops_per_image / wall / 1e9,
                "gflops_cpu": images_per_round * flops_per_image / cpu / 1e9,
                "attainable_gflops": attainable["wall"] / 1e9,
                "attainable_gflops_cpu": attainable["cpu"] / 1e9,
                "speedup_vs_straightforward": median(base["wall"]) / wall if base else None,
                "speedup_vs_straightforward_cpu": median(base["cpu"]) / cpu if base else None,
                "round_wall_s": t["wall"],
                "round_cpu_s": t["cpu"],
                **(extra or {}).get(name, {}),
            }
            row["fraction_of_attainable"] = row["gflops"] * 1e9 / attainable["wall"]
            row["fraction_of_attainable_cpu"] = row["gflops_cpu"] * 1e9 / attainable["cpu"]
            rows.append(row)
            speed = (
                f"{row['speedup_vs_straightforward']:>5.2f}x ({row['speedup_vs_straightforward_cpu']:.2f}x)"
                if base
                else ""
            )
            print(
                f"{f'{name} @{threads}t':<40}{row['images_per_s']:>8.1f}{row['images_per_cpu_s']:>10.1f}"
                f"{row['gflops']:>9.1f}{row['fraction_of_attainable']:>7.0%} ({row['fraction_of_attainable_cpu']:.0%})"
                f"  {speed}"
            )
        print(
            f"{f'attainable matmul, LSTM shapes @{threads}t':<40}{'':>18}{attainable['wall'] / 1e9:>9.1f}"
            f"  ({attainable['cpu'] / 1e9:.1f} GFLOP/CPU-s)"
        )
    return rows
