"""Evaluation throughput: the importance-weighted bound (IWAE, K samples per image), DRAW vs the straightforward one.

log p(x) >= log (1/K) sum_k p(x, z_k) / q(z_k | x); each image is repeated K times in one batch.

    PYTHONPATH=src python benchmarks/bench_eval.py --batch-size 20 --samples 50 --threads 1,2
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import bench_common as bc
import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bc.add_common_args(parser)
    parser.add_argument("--batch-size", type=int, default=20, help="data images per forward")
    parser.add_argument("--samples", type=int, default=50, help="K, importance samples per image")
    parser.add_argument("--batches", type=int, default=2, help="forwards per timing round")
    return parser.parse_args()


def iwae_bound(model: torch.nn.Module, x: torch.Tensor, samples: int, generator: torch.Generator | None = None):
    """Per-image IWAE lower bound on log p(x), in nats, ``(batch,)``."""
    with torch.no_grad():
        log_weight = model(x.repeat_interleave(samples, dim=0), generator=generator).log_weight
    return torch.logsumexp(log_weight.view(x.shape[0], samples), dim=1) - math.log(samples)


def main() -> None:
    args = parse_args()
    bc.apply_runtime(args)
    config = bc.SMOKE_MNIST if args.smoke else bc.PAPER_MNIST
    batch, k, per_round, repeats = (
        (4, 3, 1, 1) if args.smoke else (args.batch_size, args.samples, args.batches, args.repeats)
    )
    threads_list = bc.thread_counts(args.threads)
    model, straightforward = bc.models(config, args.seed)
    data = bc.binarized_mnist(batch * per_round).view(per_round, batch, *bc.IMAGE_SHAPE)

    torch.set_flush_denormal(True)
    ours = iwae_bound(model, data[0], k, torch.Generator().manual_seed(args.seed))
    theirs = iwae_bound(straightforward, data[0], k, torch.Generator().manual_seed(args.seed))
    diff = bc.check_close("IWAE bound", ours, theirs, rtol=1e-5, atol=1e-3)
    print(
        f"model: {config}; K={k}: IWAE bound {ours.mean().item():.4f} nats (DRAW) vs "
        f"{theirs.mean().item():.4f} (straightforward), max |diff| {diff:.2e}"
    )

    variants = {"readable": model} | ({} if args.no_straightforward else {bc.STRAIGHTFORWARD: straightforward})
    cases: dict[str, Callable] = {}
    for threads in threads_list:
        for name, net in variants.items():
            cases[f"{name} @{threads}t"] = _case(net, data, k, threads)
            cases[f"{name} @{threads}t"]()  # warm-up
        cases[f"attainable matmul @{threads}t"], attainable_flops = bc.attainable_case(
            bc.lstm_gemm_shapes(config, batch * k)[:1], threads
        )
    times = bc.time_interleaved(cases, repeats)
    print(f"\n{per_round} batches of {batch} images x K={k} per round, medians of {repeats} interleaved rounds")
    rows = bc.summarise(
        times,
        variants=list(variants),
        threads_list=threads_list,
        images_per_round=batch * per_round,
        flops_per_image=k * sum(bc.forward_flops_per_image(config).values()),
        attainable_flops=attainable_flops,
        extra={name: {"batch": batch, "samples": k, "bound_max_abs_diff": diff} for name in variants},
    )
    bc.report({"config": config, "runs": rows}, args.json)


def _case(model: torch.nn.Module, data: torch.Tensor, samples: int, threads: int) -> Callable:
    def run() -> None:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(True)
        for x in data:
            iwae_bound(model, x, samples)

    return run


if __name__ == "__main__":
    main()
