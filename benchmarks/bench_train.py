"""Training throughput of DRAW on binarized MNIST, against the straightforward baseline.

Paper setting (T=64, LSTM 256, z=100, read 2x2, write 5x5), Adam, fixed number of optimiser
steps per timing round; rounds of all variants interleaved and medians reported. Prints
images/s, analytic FLOPs per image, the attainable matmul rate on the LSTM's shapes measured in
the same run, achieved/attainable, saved activations and peak memory.

    PYTHONPATH=src python benchmarks/bench_train.py --batch-sizes 100 --threads 1,2
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable

import bench_common as bc
import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bc.add_common_args(parser)
    parser.add_argument("--batch-sizes", default="100", help="comma-separated batch sizes (a sweep)")
    parser.add_argument("--steps", type=int, default=3, help="optimiser steps per timing round")
    parser.add_argument("--denormals", action="store_true", help="also time both models with denormals kept")
    parser.add_argument("--checkpoint", action="store_true", help="also time per-step activation checkpointing")
    parser.add_argument("--compile", action="store_true", help="also time the torch.compile'd step")
    return parser.parse_args()


def train_case(model: torch.nn.Module, batches: torch.Tensor, steps: int, threads: int, flush: bool) -> Callable:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    position = [0]

    def run() -> None:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(flush)
        for _ in range(steps):
            x = batches[position[0] % len(batches)]
            position[0] += 1
            loss = model(x).loss.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return run


def main() -> None:
    args = parse_args()
    config = bc.SMOKE_MNIST if args.smoke else bc.PAPER_MNIST
    steps, repeats = (1, 1) if args.smoke else (args.steps, args.repeats)
    batch_sizes = [8] if args.smoke else [int(b) for b in args.batch_sizes.split(",")]
    threads_list = bc.thread_counts(args.threads)
    train_flops = 3 * sum(bc.forward_flops_per_image(config).values())  # backward ~ 2x forward
    print(f"model: {config}; training FLOPs/image (matmuls, fwd+bwd ~ 3x fwd): {train_flops / 1e6:.1f} M")
    results: dict = {"config": config, "train_flops_per_image": train_flops, "runs": []}

    for batch in batch_sizes:
        data = bc.binarized_mnist(batch * max(steps, 4))
        batches = data.view(-1, batch, *bc.IMAGE_SHAPE)
        model, baseline = bc.models(config, args.seed)

        # Same weights, inputs and noise: both must give the same loss before anything is timed.
        torch.set_flush_denormal(True)
        ours = model(batches[0], generator=torch.Generator().manual_seed(args.seed)).loss
        theirs = baseline(batches[0], generator=torch.Generator().manual_seed(args.seed)).loss
        diff = bc.check_close("loss", ours, theirs, rtol=1e-5, atol=1e-3)
        print(
            f"batch {batch}: loss {ours.mean().item():.4f} (optimised) vs {theirs.mean().item():.4f} "
            f"(baseline), max |diff| per image {diff:.2e} nats"
        )

        variants: dict[str, tuple[torch.nn.Module, bool]] = {"optimised": (model, True)}
        if args.denormals:
            variants["optimised, denormals kept"] = (copy.deepcopy(model), False)
        if not args.no_baseline:
            variants["baseline, flush-to-zero"] = (baseline, True)
            variants["baseline"] = (copy.deepcopy(baseline), False)  # as public code runs: no FTZ
        if args.checkpoint:
            variants["optimised, checkpointed steps"] = (_with(model, checkpoint_steps=True), True)
        compile_seconds = None
        if args.compile:
            compiled = _with(model, compile_step=True)
            start = time.perf_counter()
            compiled(batches[0]).loss.mean().backward()  # compiles forward and backward graphs
            compile_seconds = time.perf_counter() - start
            print(f"torch.compile of the step: first forward+backward took {compile_seconds:.1f} s")
            variants["optimised, compiled step"] = (compiled, True)

        memory = {
            name: bc.saved_activation_bytes(lambda m=m, x=batches[0]: m(x).loss.mean())
            for name, (m, _) in variants.items()
        }
        cases: dict[str, Callable] = {}
        for threads in threads_list:
            for name, (net, flush) in variants.items():
                cases[f"{name} @{threads}t"] = train_case(net, batches, steps, threads, flush)
                cases[f"{name} @{threads}t"]()  # warm-up round, not timed
            cases[f"attainable matmul @{threads}t"], attainable_flops = bc.attainable_case(
                bc.lstm_gemm_shapes(config, batch), threads
            )
        times = bc.time_interleaved(cases, repeats)

        print(f"\nbatch {batch}: {steps} optimiser steps per round, medians of {repeats} interleaved rounds")
        extra = {
            name: {
                "batch": batch,
                "saved_activation_mb": memory[name] / 2**20,
                "loss_max_abs_diff": diff,
                "compile_seconds": compile_seconds if "compiled" in name else None,
            }
            for name in variants
        }
        results["runs"] += bc.summarise(
            times,
            variants=list(variants),
            threads_list=threads_list,
            images_per_round=batch * steps,
            flops_per_image=train_flops,
            attainable_flops=attainable_flops,
            extra=extra,
        )
        print("activations kept for backward (MB): " + ", ".join(f"{n} {m / 2**20:.0f}" for n, m in memory.items()))
    print(f"\npeak RSS of the process: {bc.peak_rss_mb():.0f} MB")
    bc.report(results, args.json)


def _with(model: torch.nn.Module, **options: bool) -> torch.nn.Module:
    """A copy of ``model`` (same weights) with step options switched on."""
    clone = copy.deepcopy(model)
    for key, value in options.items():
        setattr(clone, key, value)
    return clone


if __name__ == "__main__":
    main()
