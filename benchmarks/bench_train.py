"""Training throughput of DRAW on binarized MNIST, against the straightforward baseline.

Paper setting (T=64, LSTM 256, z=100, read 2x2, write 5x5), Adam, fixed number of optimiser
steps per timing round; rounds of all variants interleaved and medians reported. Prints
images/s, analytic FLOPs per image, the attainable matmul rate on the LSTM's shapes measured in
the same run, achieved/attainable, saved activations and peak memory.

    PYTHONPATH=src python benchmarks/bench_train.py --batch-sizes 100 --threads 1,2
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import time
from collections.abc import Callable

import bench_common as bc
import torch
from ddp_workers import COMPILED, DDPWorkers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bc.add_common_args(parser)
    parser.add_argument("--batch-sizes", default="100", help="comma-separated batch sizes (a sweep)")
    parser.add_argument("--steps", type=int, default=3, help="optimiser steps per timing round")
    parser.add_argument("--denormals", action="store_true", help="also time both models with denormals kept")
    parser.add_argument("--checkpoint", action="store_true", help="also time per-step activation checkpointing")
    parser.add_argument("--compile", action="store_true", help="also time the torch.compile'd step")
    parser.add_argument(
        "--ddp", type=int, default=0, help="also time DDP over this many 1-thread processes (gloo), e.g. 2; 0 = off"
    )
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
    bc.apply_runtime(args)
    config = bc.SMOKE_MNIST if args.smoke else bc.PAPER_MNIST
    steps, repeats = (1, 1) if args.smoke else (args.steps, args.repeats)
    batch_sizes = [8] if args.smoke else [int(b) for b in args.batch_sizes.split(",")]
    threads_list = bc.thread_counts(args.threads)
    if args.ddp == 1 or args.ddp < 0:
        raise SystemExit(f"--ddp must be 0 (off) or a process count >= 2, got {args.ddp}")
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
        with contextlib.ExitStack() as stack:
            multiprocess, ddp_extra = None, {}
            if args.ddp:
                # Started after the in-process warm-up, before timing; stopped on exit, errors included.
                workers = stack.enter_context(
                    DDPWorkers(
                        processes=args.ddp,
                        config=config,
                        seed=args.seed,
                        batches=batches,
                        reuse_freed_memory=not args.default_malloc,
                        compile_step=args.compile,
                    )
                )
                multiprocess, ddp_extra = add_ddp_cases(cases, workers, args, config, batches[0], steps)
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
            extra=extra | ddp_extra,
            multiprocess=multiprocess,
        )
        print("activations kept for backward (MB): " + ", ".join(f"{n} {m / 2**20:.0f}" for n, m in memory.items()))
    print(f"\npeak RSS of the process: {bc.peak_rss_mb():.0f} MB")
    bc.report(results, args.json)


def add_ddp_cases(
    cases: dict[str, Callable], workers: DDPWorkers, args: argparse.Namespace, config: dict, x: torch.Tensor, steps: int
) -> tuple[bc.ProcessVariants, dict[str, dict]]:
    """Check, warm up and add the DDP variants and their matmul reference to ``cases``."""
    names, extra = [], {}
    model_names = ["optimised"] + ([COMPILED] if args.compile else []) + ([] if args.no_baseline else ["baseline"])
    for model_name in model_names:
        name = f"{model_name}, DDP {workers.processes}x1t"
        diff = check_ddp_step(workers, model_name, config, args.seed, x)
        cases[f"{name} @1t"] = workers.train_case(model_name, steps)
        cases[f"{name} @1t"]()  # warm-up round, not timed
        names.append(name)
        extra[name] = {"batch": x.shape[0], "batch_per_process": workers.per_rank, "ddp_max_abs_diff": diff}
    multiprocess = bc.ProcessVariants(
        variants=names, processes=workers.processes, attainable_flops=workers.matmul_flops
    )
    cases[multiprocess.attainable_case] = workers.matmul_case()
    return multiprocess, extra


def check_ddp_step(workers: DDPWorkers, model_name: str, config: dict, seed: int, x: torch.Tensor) -> float:
    """One DDP step from the seed's weights must equal one full-batch Adam step in this process.

    Same per-image noise on both sides; the loss is a per-image mean, so DDP's average of the
    ranks' gradients is the full batch's gradient. Exits with an error beyond 1e-5 relative.
    Returns the largest parameter difference.
    """
    reference = bc.models(config, seed)[1 if model_name == "baseline" else 0]  # compiled: checked against eager
    noise = torch.randn(config["num_steps"], x.shape[0], config["z_dim"], generator=torch.Generator().manual_seed(seed))
    torch.set_flush_denormal(True)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)
    with bc.FixedNoise(noise):
        loss = reference(x).loss.mean()
    loss.backward()
    optimizer.step()
    expected = {key: (p.detach(), p.grad) for key, p in reference.named_parameters()}
    worst = {"param": 0.0, "param_rel": 0.0, "grad_rel": 0.0}
    for rank, (params, grads) in enumerate(workers.one_step(model_name, noise)):
        for key, (want, want_grad) in expected.items():
            # Gradients element by element, against the tensor's largest: catches a sum instead
            # of a mean, a wrong shard or wrong noise (Adam's first step alone would hide a scale).
            grad_rel = (grads[key] - want_grad).abs().max().item() / max(want_grad.abs().max().item(), 1e-30)
            # Parameters by norm: Adam's first step is lr * g / (|g| + eps), so an element whose
            # |g| is near eps turns a rounding-level gradient difference into ~1e-3 of lr.
            param_abs = (params[key] - want).abs().max().item()
            param_rel = (params[key] - want).norm().item() / max(want.norm().item(), 1e-30)
            worst = {
                "param": max(worst["param"], param_abs),
                "param_rel": max(worst["param_rel"], param_rel),
                "grad_rel": max(worst["grad_rel"], grad_rel),
            }
            if grad_rel > 1e-5 or param_rel > 1e-5:
                raise SystemExit(
                    f"DDP check failed for {model_name}: rank {rank}'s {key} differs from the full-batch step: "
                    f"gradient by {grad_rel:.3g} of its largest element, parameter by {param_rel:.3g} in norm "
                    f"(max |diff| {param_abs:.3g}); tolerance 1e-5 relative"
                )
    print(
        f"DDP check ({model_name}, {workers.processes} ranks x {workers.per_rank} images): one step equals the "
        f"full-batch step: parameters max |diff| {worst['param']:.2e} ({worst['param_rel']:.2e} relative, norm), "
        f"gradients {worst['grad_rel']:.2e} relative; tolerance 1e-5"
    )
    return worst["param"]


def _with(model: torch.nn.Module, **options: bool) -> torch.nn.Module:
    """A copy of ``model`` (same weights) with step options switched on."""
    clone = copy.deepcopy(model)
    for key, value in options.items():
        setattr(clone, key, value)
    return clone


if __name__ == "__main__":
    main()
