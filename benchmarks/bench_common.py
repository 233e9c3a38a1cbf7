"""Shared parts of the benchmarks: data, models, analytic FLOPs, timing, memory, machine info."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from draw_lightning.models import DRAW
from draw_lightning.models.draw_baseline import BaselineDRAW
from draw_lightning.utils.runtime import keep_freed_memory

# The paper's MNIST generation setting (Gregor et al. 2015, table 3).
PAPER_MNIST = dict(num_steps=64, enc_hidden=256, dec_hidden=256, z_dim=100, read_n=2, write_n=5)
SMOKE_MNIST = dict(PAPER_MNIST, num_steps=4)
IMAGE_SHAPE = (1, 28, 28)
MNIST_FILE = "binarized_mnist/binarized_mnist.npz"


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", default="1,2", help="intra-op thread counts to compare, e.g. 1,2")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timing rounds; medians reported")
    parser.add_argument("--no-baseline", action="store_true", help="skip the straightforward baseline")
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


def models(config: dict, seed: int) -> tuple[DRAW, BaselineDRAW]:
    """The optimised model and the baseline holding the very same weights."""
    torch.manual_seed(seed)
    model = DRAW(image_shape=IMAGE_SHAPE, **config)
    baseline = BaselineDRAW(image_shape=IMAGE_SHAPE, **config)
    baseline.load_state_dict(model.state_dict())
    return model, baseline


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


@dataclass(frozen=True)
class WorkerCPUTime:
    """What a case whose work runs in other processes returns: their summed CPU seconds."""

    seconds: float


def time_interleaved(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Run each case once per round, rounds interleaved, so background load hits all alike.

    Records wall seconds and process CPU seconds: on a shared machine the CPU time of a
    one-thread run is what the work cost, the wall time also counts waiting for a core.
    A case returning ``WorkerCPUTime`` is charged its workers' CPU time instead of this process's.
    """
    times = {name: {"wall": [], "cpu": []} for name in cases}
    for _ in range(repeats):
        for name, run in cases.items():
            wall, cpu = time.perf_counter(), time.process_time()
            result = run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            times[name]["cpu"].append(result.seconds if isinstance(result, WorkerCPUTime) else cpu)
            times[name]["wall"].append(wall)
    return times


class FixedNoise(TorchFunctionMode):
    """Inside, ``torch.randn`` returns ``noise`` (shapes must match): the same z for a model split across ranks."""

    def __init__(self, noise: torch.Tensor) -> None:
        super().__init__()
        self.noise = noise

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.randn:
            shape = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else tuple(args)
            if shape != tuple(self.noise.shape):
                raise ValueError(f"FixedNoise holds noise of shape {tuple(self.noise.shape)}, randn asked for {shape}")
            return self.noise.clone()
        return func(*args, **(kwargs or {}))


def median(values: list[float]) -> float:
    return statistics.median(values)


def saved_activation_bytes(run: Callable[[], torch.Tensor]) -> int:
    """Bytes of distinct tensor storages autograd keeps for backward while ``run()`` builds a graph."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = run()
    del loss
    return sum(storages.values())


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
        raise SystemExit(f"{name}: optimised and baseline differ by {diff:.3g} (rtol {rtol}, atol {atol})")
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


@dataclass(frozen=True)
class ProcessVariants:
    """Variants run as ``processes`` one-thread processes (DDP): cases ``"<variant> @1t"``.

    ``attainable_flops`` is one round of the case ``"attainable matmul, <processes> procs x 1t"``
    summed over the processes, so achieved/attainable is against the whole machine's rate.
    """

    variants: list[str]
    processes: int
    attainable_flops: int

    @property
    def attainable_case(self) -> str:
        return f"attainable matmul, {self.processes} procs x 1t"


def summarise(
    times: dict[str, dict[str, list[float]]],
    *,
    variants: list[str],
    threads_list: list[int],
    images_per_round: int,
    flops_per_image: float,
    attainable_flops: int,
    extra: dict[str, dict] | None = None,
    multiprocess: ProcessVariants | None = None,
) -> list[dict]:
    """Print and return one row per variant and thread count: medians of wall and CPU rates.

    Cases are named ``"<variant> @<threads>t"``, the matmul reference ``"attainable matmul @<threads>t"``;
    speed-ups are against the single-process variant named ``baseline`` at the same thread count.
    """
    rows = []
    header = f"{'variant':<40}{'img/s':>8}{'img/CPU-s':>10}{'GFLOP/s':>9}{'of attainable':>14}{'vs baseline':>12}"
    print(header + "   (wall; CPU-time figures in brackets)")

    def add_rows(names: list[str], threads: int, processes: int, attainable: dict[str, float], label: str) -> None:
        base = times.get(f"baseline @{threads}t")
        for name in names:
            t = times[f"{name} @{threads}t"]
            wall, cpu = median(t["wall"]), median(t["cpu"])
            row = {
                "variant": name,
                "threads": threads,
                "processes": processes,
                "images_per_s": images_per_round / wall,
                "images_per_cpu_s": images_per_round / cpu,
                "gflops": images_per_round * flops_per_image / wall / 1e9,
                "gflops_cpu": images_per_round * flops_per_image / cpu / 1e9,
                "attainable_gflops": attainable["wall"] / 1e9,
                "attainable_gflops_cpu": attainable["cpu"] / 1e9,
                "speedup_vs_baseline": median(base["wall"]) / wall if base else None,
                "speedup_vs_baseline_cpu": median(base["cpu"]) / cpu if base else None,
                "round_wall_s": t["wall"],
                "round_cpu_s": t["cpu"],
                **(extra or {}).get(name, {}),
            }
            row["fraction_of_attainable"] = row["gflops"] * 1e9 / attainable["wall"]
            row["fraction_of_attainable_cpu"] = row["gflops_cpu"] * 1e9 / attainable["cpu"]
            rows.append(row)
            speed = f"{row['speedup_vs_baseline']:>5.2f}x ({row['speedup_vs_baseline_cpu']:.2f}x)" if base else ""
            print(
                f"{label.format(name=name):<40}{row['images_per_s']:>8.1f}{row['images_per_cpu_s']:>10.1f}"
                f"{row['gflops']:>9.1f}{row['fraction_of_attainable']:>7.0%} ({row['fraction_of_attainable_cpu']:.0%})"
                f"  {speed}"
            )

    def rate(case: str, flops: int) -> dict[str, float]:
        return {kind: flops / median(times[case][kind]) for kind in ("wall", "cpu")}

    def print_attainable(label: str, attainable: dict[str, float]) -> None:
        print(f"{label:<40}{'':>18}{attainable['wall'] / 1e9:>9.1f}  ({attainable['cpu'] / 1e9:.1f} GFLOP/CPU-s)")

    for threads in threads_list:
        attainable = rate(f"attainable matmul @{threads}t", attainable_flops)
        add_rows(variants, threads, 1, attainable, f"{{name}} @{threads}t")
        print_attainable(f"attainable matmul, LSTM shapes @{threads}t", attainable)
    if multiprocess is not None:
        n = multiprocess.processes
        attainable = rate(multiprocess.attainable_case, multiprocess.attainable_flops)
        print(f"-- {n} processes x 1 thread (DDP); vs baseline: against baseline @1t, one process")
        add_rows(multiprocess.variants, 1, n, attainable, "{name}")
        print_attainable(multiprocess.attainable_case, attainable)
        # The as-shipped comparison on n cores: one process of the baseline with n intra-op threads.
        same_cores = times.get(f"baseline @{n}t")
        for row in rows[-len(multiprocess.variants) :]:
            t = times[f"{row['variant']} @1t"]
            for kind, suffix in (("wall", ""), ("cpu", "_cpu")):
                ratio = median(same_cores[kind]) / median(t[kind]) if same_cores else None
                row["speedup_vs_baseline_same_cores" + suffix] = ratio
            if same_cores:
                print(
                    f"{row['variant']} vs baseline @{n}t (one process, {n} threads, as shipped on {n} cores): "
                    f"{row['speedup_vs_baseline_same_cores']:.2f}x wall "
                    f"({row['speedup_vs_baseline_same_cores_cpu']:.2f}x CPU)"
                )
    return rows
