"""Generation throughput of DRAW (T-step sampling from the prior), against the straightforward one.

PYTHONPATH=src python benchmarks/bench_sample.py --num-samples 100 --threads 1,2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import bench_common as bc
import torch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bc.add_common_args(parser)
    parser.add_argument("--num-samples", type=int, default=100, help="images generated per call")
    parser.add_argument("--calls", type=int, default=5, help="generate() calls per timing round")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    bc.apply_runtime(args)
    config = bc.SMOKE_MNIST if args.smoke else bc.PAPER_MNIST
    calls, repeats, samples = (1, 1, 8) if args.smoke else (args.calls, args.repeats, args.num_samples)
    threads_list = bc.thread_counts(args.threads)
    model, straightforward = bc.models(config, args.seed)
    noise = torch.randn(config["num_steps"], samples, config["z_dim"], generator=torch.Generator().manual_seed(1))

    torch.set_flush_denormal(True)
    ours, theirs = model.generate(samples, noise=noise).canvases, straightforward.generate(samples, noise=noise)
    diff = bc.check_close("canvases", ours, theirs, rtol=1e-4, atol=1e-5)
    print(f"model: {config}; {samples} samples, same noise: max |canvas diff| {diff:.2e}")

    variants = {"readable": lambda: model.generate(samples, noise=noise)}
    if not args.no_straightforward:
        variants[bc.STRAIGHTFORWARD] = lambda: straightforward.generate(samples, noise=noise)
    cases: dict[str, Callable] = {}
    for threads in threads_list:
        for name, generate in variants.items():
            cases[f"{name} @{threads}t"] = _case(generate, calls, threads)
            cases[f"{name} @{threads}t"]()  # warm-up
        cases[f"attainable matmul @{threads}t"], attainable_flops = bc.attainable_case(
            bc.lstm_gemm_shapes(config, samples)[:1], threads
        )
    times = bc.time_interleaved(cases, repeats)
    print(f"\n{calls} generate() calls per round, medians of {repeats} interleaved rounds")
    rows = bc.summarise(
        times,
        variants=list(variants),
        threads_list=threads_list,
        images_per_round=samples * calls,
        flops_per_image=bc.decoder_flops_per_image(config),
        attainable_flops=attainable_flops,
        extra={name: {"num_samples": samples, "canvas_max_abs_diff": diff} for name in variants},
    )
    bc.report({"config": config, "runs": rows}, args.json)


def _case(generate: Callable, calls: int, threads: int) -> Callable:
    def run() -> None:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(True)
        for _ in range(calls):
            generate()

    return run


if __name__ == "__main__":
    main()
