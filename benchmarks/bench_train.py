"""Training throughput of DRAW's implementations on binarized MNIST: one process and DDP, one run.

What is timed: Adam steps (forward, backward, ``optimizer.step``, lr 1e-3) on real binarized MNIST
images (``$DRAW_DATA_DIR/binarized_mnist/binarized_mnist.npz``, training split) in the paper's MNIST
setting (T=64, LSTMs 256, z=100, read 2x2, write 5x5), for the variants

- ``readable``: ``draw_lightning.models.DRAW`` eager; ``readable, compiled``: ``compile_step=True``;
  ``readable, checkpointed``: ``checkpoint_steps=True`` (only with ``--checkpoint``);
- ``straightforward``: ``straightforward_draw.StraightforwardDRAW``, a per-step DRAW as public code
  writes it (exact filter normalisation, so it computes the same function, see its docstring);
- ``legacy unrolled, compiled`` and ``legacy unrolled``: the hand-written unrolled path with its own
  backward from ``--legacy-commit`` (default 07c3fa3), loaded from git without installing
  (``legacy_draw.py``); skipped with a note where git or the commit is missing.

All hold the same weights (``load_state_dict`` of one seed's ``DRAW``). Before anything is timed,
each variant's first call (forward with the seed's noise, backward, Adam step; for compiled
variants this is where ``torch.compile`` builds the step, and its time is reported as
``first_call_s``: inductor's on-disk cache makes repeated runs faster) must give the readable
variant's loss on the same batch (rtol 1e-4, atol 1e-3 nats; exits otherwise). The largest
gradient difference, relative to each tensor's largest element, is printed too.

Two configurations, one after the other, each with every variant's timing rounds interleaved
(round r runs ``--steps`` steps of every variant in turn; medians of ``--repeats`` rounds, after
one untimed warm-up round): ``--procs 1`` is this process with one intra-op thread; ``--procs 2``
is ``DistributedDataParallel`` over 2 spawned one-thread processes (gloo on 127.0.0.1), each rank
building the same variants and running the same rounds in lockstep (a barrier starts and ends
every variant's round), rank r training on its share of every batch (``torch.tensor_split``: an
odd batch of 25 is 13 + 12 images, whose gradient is the mean of the two shards' means). img/s
counts the global batch. Denormals are flushed to zero and freed memory is kept for reuse
(``--default-malloc``: not) in every process, for every variant alike, as training does.

Memory, per variant and batch (per rank under DDP): ``kept MB`` is the growth of malloc's bytes in
use over one forward while its loss is alive (``bench_common.heap_kept_bytes``: everything kept
for backward, compiled graphs and checkpoint frames included, parameters and the batch not);
the JSON also has ``saved_tensor_mb``, the storages a saved-tensor hook sees (parameters and
batch included; it sees compiled graphs' saves, not the step inputs that checkpointing holds).

    PYTHONPATH=src python benchmarks/bench_train.py --json train.json   # everything: ~15-25 min on 2 idle cores
    PYTHONPATH=src python benchmarks/bench_train.py --smoke --procs 1 --json x.json   # checks the script
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import tempfile
import time
from pathlib import Path

import bench_common as bc
import legacy_draw
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from straightforward_draw import StraightforwardDRAW
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from draw_lightning.models import DRAW
from draw_lightning.utils.runtime import keep_freed_memory

READABLE, COMPILED, CHECKPOINTED = "readable", "readable, compiled", "readable, checkpointed"
STRAIGHTFORWARD = bc.STRAIGHTFORWARD
LEGACY_COMPILED, LEGACY = "legacy unrolled, compiled", "legacy unrolled"
VARIANTS = (READABLE, COMPILED, CHECKPOINTED, STRAIGHTFORWARD, LEGACY_COMPILED, LEGACY)
REFERENCES = (COMPILED, LEGACY_COMPILED)  # the ratio columns
VARIANT_KEYS = dict(
    zip(("readable", "compiled", "checkpointed", "straightforward", "legacy-compiled", "legacy"), VARIANTS, strict=True)
)
LOSS_RTOL, LOSS_ATOL = 1e-4, 1e-3
SMOKE_BATCH = 8


class CheckFailed(RuntimeError):
    """Variants disagree on the loss: nothing is timed."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bc.add_common_args(parser, threads=False)
    parser.add_argument("--batch-sizes", default="25,100,200", help="global batch sizes, comma-separated")
    parser.add_argument("--procs", default="1,2", help="configurations: 1 = this process, N >= 2 = DDP over N")
    parser.add_argument("--steps", type=int, default=2, help="Adam steps per variant per timing round")
    parser.add_argument("--checkpoint", action="store_true", help="also time 'readable, checkpointed'")
    parser.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated subset of {','.join(VARIANT_KEYS)} (default: all, checkpointed with --checkpoint)",
    )
    parser.add_argument("--legacy-commit", default=legacy_draw.DEFAULT_COMMIT, help="commit of the legacy variants")
    args = parser.parse_args(argv)
    if args.variants is None:
        args.variant_list = [v for v in VARIANTS if v != CHECKPOINTED or args.checkpoint]
    else:
        keys = [k.strip() for k in args.variants.split(",") if k.strip()]
        unknown = [k for k in keys if k not in VARIANT_KEYS]
        if unknown:
            raise SystemExit(f"--variants: unknown {unknown}; choose from {', '.join(VARIANT_KEYS)}")
        args.variant_list = [v for v in VARIANTS if v in {VARIANT_KEYS[k] for k in keys}]  # the table's order
    args.config = bc.SMOKE_MNIST if args.smoke else bc.PAPER_MNIST
    args.batch_list = [SMOKE_BATCH] if args.smoke else [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    args.procs_list = [int(p) for p in args.procs.split(",") if p.strip()]
    if args.smoke:
        args.steps, args.repeats = 1, 1
    if min(args.batch_list) < 1 or not args.procs_list or min(args.procs_list) < 1 or args.steps < 1:
        raise SystemExit("--batch-sizes, --procs and --steps must be positive integers")
    for procs in args.procs_list:
        if procs > min(args.batch_list):
            raise SystemExit(f"--procs {procs}: every batch needs at least one image per process")
    return args


def build_variants(names: list[str], config: dict, seed: int, legacy) -> dict[str, nn.Module]:
    """Every variant in ``names`` holding the weights of ``seed``'s ``DRAW``."""
    torch.manual_seed(seed)
    base = DRAW(image_shape=bc.IMAGE_SHAPE, **config)
    state = base.state_dict()

    def load(model: nn.Module) -> nn.Module:
        model.load_state_dict(state)
        return model

    makers = {
        READABLE: lambda: base,
        COMPILED: lambda: load(DRAW(image_shape=bc.IMAGE_SHAPE, compile_step=True, **config)),
        CHECKPOINTED: lambda: load(DRAW(image_shape=bc.IMAGE_SHAPE, checkpoint_steps=True, **config)),
        STRAIGHTFORWARD: lambda: StraightforwardDRAW.like(base),
        LEGACY_COMPILED: lambda: load(legacy.DRAW(image_shape=bc.IMAGE_SHAPE, compile_step=True, **config)),
        LEGACY: lambda: load(legacy.DRAW(image_shape=bc.IMAGE_SHAPE, **config)),
    }
    return {name: makers[name]() for name in names}


def max_relative_grad_diff(model: nn.Module, reference: dict[str, torch.Tensor]) -> float:
    """Largest |g - g_ref| of any parameter, relative to the largest |g_ref| of that tensor."""
    worst = 0.0
    for key, p in model.named_parameters():
        ref = reference[key]
        worst = max(worst, (p.grad - ref).abs().max().item() / max(ref.abs().max().item(), 1e-30))
    return worst


def run_configuration(rank: int, procs: int, args: argparse.Namespace, names: list[str]) -> list[dict]:
    """:func:`measure_batch` for every batch size in this rank; rank 0's records are the results."""
    legacy = legacy_draw.load(args.legacy_commit) if {LEGACY, LEGACY_COMPILED} & set(names) else None
    return [row for batch in args.batch_list for row in measure_batch(rank, procs, args, names, legacy, batch)]


def measure_batch(rank: int, procs: int, args: argparse.Namespace, names: list[str], legacy, batch: int) -> list[dict]:
    """Build, check, warm up, measure memory and time ``names`` at one global batch size.

    One record per variant: this rank's timings and its shard's memory.
    """
    say = print if rank == 0 else (lambda *a, **k: None)
    count = max(args.steps, 4)
    data = bc.binarized_mnist(batch * count).view(count, batch, *bc.IMAGE_SHAPE)
    shard = torch.tensor_split(data, procs, dim=1)[rank].contiguous()
    models = build_variants(names, args.config, args.seed, legacy)
    nets = {name: DistributedDataParallel(m) if procs > 1 else m for name, m in models.items()}
    optimizers = {name: torch.optim.Adam(net.parameters(), lr=1e-3) for name, net in nets.items()}
    positions = dict.fromkeys(names, 0)

    def train_steps(name: str, steps: int) -> None:
        net, optimizer = nets[name], optimizers[name]
        for _ in range(steps):
            x = shard[positions[name] % len(shard)]
            positions[name] += 1
            loss = net(x).loss.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def forward_loss(name: str) -> torch.Tensor:
        return nets[name](shard[0]).loss.mean()

    say(f"\n== {procs} process(es) x 1 thread, batch {batch} ({shard.shape[1]} per process)", flush=True)
    # First call: same weights, batch and noise for all; compiles the compiled variants.
    info: dict[str, dict] = {}
    reference_loss = reference_grads = None
    for name in names:
        start = time.perf_counter()
        loss = nets[name](shard[0], generator=torch.Generator().manual_seed(args.seed)).loss
        loss.mean().backward()
        first_call_s = time.perf_counter() - start
        loss = loss.detach()
        if reference_loss is None:
            reference_loss = loss
            reference_grads = {k: p.grad.detach().clone() for k, p in models[name].named_parameters()}
        loss_diff = (loss - reference_loss).abs().max().item()
        grad_diff = max_relative_grad_diff(models[name], reference_grads)
        if not torch.allclose(loss, reference_loss, rtol=LOSS_RTOL, atol=LOSS_ATOL):
            raise CheckFailed(
                f"{name}: loss differs from {names[0]}'s by {loss_diff:.3g} nats on the same batch, weights "
                f"and noise (rtol {LOSS_RTOL}, atol {LOSS_ATOL})"
            )
        optimizers[name].step()
        optimizers[name].zero_grad(set_to_none=True)
        info[name] = dict(
            first_call_s=first_call_s,
            loss_mean=loss.mean().item(),
            loss_max_abs_diff=loss_diff,
            grad_max_rel_diff=grad_diff,
        )
        say(
            f"{name:<28} first call {first_call_s:6.1f} s, loss {loss.mean().item():.4f} nats/image, "
            f"vs {names[0]}: |loss diff| <= {loss_diff:.2e}, gradients {grad_diff:.2e} relative",
            flush=True,
        )
    for name in names:
        train_steps(name, args.steps)  # warm-up round, not timed
        # Memory kept for backward by one forward; no_sync: DDP prepares no gradient reduction for it.
        with nets[name].no_sync() if procs > 1 else contextlib.nullcontext():
            info[name]["kept_mb"] = _mb(bc.heap_kept_bytes(lambda n=name: forward_loss(n)))
            info[name]["saved_tensor_mb"] = _mb(bc.saved_activation_bytes(lambda n=name: forward_loss(n)))

    times = {name: {"wall": [], "cpu": []} for name in names}
    for _ in range(args.repeats):
        for name in names:
            if procs > 1:
                dist.barrier()
            wall, cpu = time.perf_counter(), time.process_time()
            train_steps(name, args.steps)
            if procs > 1:
                dist.barrier()
            times[name]["wall"].append(time.perf_counter() - wall)
            times[name]["cpu"].append(time.process_time() - cpu)
    return [
        dict(
            variant=name,
            processes=procs,
            threads_per_process=1,
            batch=batch,
            batch_per_process=shard.shape[1],
            steps_per_round=args.steps,
            images_per_s=batch * args.steps / bc.median(times[name]["wall"]),
            round_wall_s=times[name]["wall"],
            round_cpu_s_rank0=times[name]["cpu"],
            **info[name],
        )
        for name in names
    ]


def _mb(nbytes: int | None) -> float | None:
    return None if nbytes is None else nbytes / 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup_process(args: argparse.Namespace) -> None:
    """The process-wide settings of training, in every process alike."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    if not args.default_malloc:
        keep_freed_memory()
    # One compiled step per model and batch shape: more than dynamo's default of 8 per code object.
    torch._dynamo.config.recompile_limit = 64
    torch._dynamo.config.accumulated_recompile_limit = 512


def _ddp_rank(rank: int, procs: int, port: int, args: argparse.Namespace, names: list[str], out: str) -> None:
    _setup_process(args)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=procs)
    try:
        records = run_configuration(rank, procs, args, names)
        if rank == 0:
            Path(out).write_text(json.dumps(records))
    finally:
        dist.destroy_process_group()


def run_ddp(procs: int, args: argparse.Namespace, names: list[str]) -> list[dict]:
    """``run_configuration`` in ``procs`` spawned ranks; rank 0's records."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "rank0.json")
        try:
            mp.start_processes(
                _ddp_rank, args=(procs, _free_port(), args, names, out), nprocs=procs, join=True, start_method="spawn"
            )
        except mp.ProcessRaisedException as err:
            raise SystemExit(f"DDP over {procs} processes failed:\n{err}") from None
        return json.loads(Path(out).read_text())


def add_ratios(rows: list[dict]) -> None:
    """``vs <reference>``: img/s over the reference's img/s at the same processes and batch."""
    rate = {(r["variant"], r["processes"], r["batch"]): r["images_per_s"] for r in rows}
    for row in rows:
        for ref in REFERENCES:
            base = rate.get((ref, row["processes"], row["batch"]))
            row[f"vs {ref}"] = row["images_per_s"] / base if base else None


def print_table(rows: list[dict]) -> None:
    head = ["variant", "procs", "batch", "img/s", *(f"vs {r}" for r in REFERENCES), "kept MB", "first call s"]
    widths = [28, 6, 7, 10, 24, 31, 10, 14]
    print(
        "\n"
        + "".join(f"{h:<{w}}" if i == 0 else f"{h:>{w}}" for i, (h, w) in enumerate(zip(head, widths, strict=True)))
    )
    for r in rows:
        ratios = [f"{r[f'vs {ref}']:.2f}x" if r[f"vs {ref}"] else "-" for ref in REFERENCES]
        kept = f"{r['kept_mb']:.1f}" if r["kept_mb"] is not None else "-"
        cells = [r["variant"], r["processes"], r["batch"], f"{r['images_per_s']:.1f}", *ratios, kept]
        cells.append(f"{r['first_call_s']:.2f}")
        print(
            "".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    _setup_process(args)
    names = list(args.variant_list)
    if {LEGACY, LEGACY_COMPILED} & set(names) and legacy_draw.try_load(args.legacy_commit) is None:
        names = [n for n in names if n not in (LEGACY, LEGACY_COMPILED)]
    if not names:
        raise SystemExit("no variant left to time")
    print(f"model: {args.config}; variants: {names}")
    print(
        f"batch sizes {args.batch_list}, configurations {args.procs_list} process(es) x 1 thread, "
        f"{args.steps} Adam steps per round, medians of {args.repeats} interleaved rounds"
    )
    rows: list[dict] = []
    for procs in args.procs_list:
        try:
            rows += run_configuration(0, 1, args, names) if procs == 1 else run_ddp(procs, args, names)
        except CheckFailed as err:
            raise SystemExit(f"check failed, nothing timed: {err}") from None
    add_ratios(rows)
    print_table(rows)
    print(f"\npeak RSS of the main process: {bc.peak_rss_mb():.0f} MB")
    results = {
        "config": args.config,
        "variants": names,
        "legacy_commit": args.legacy_commit if any(n.startswith("legacy") for n in names) else None,
        "batch_sizes": args.batch_list,
        "processes": args.procs_list,
        "steps_per_round": args.steps,
        "repeats": args.repeats,
        "loss_check": {"rtol": LOSS_RTOL, "atol": LOSS_ATOL},
        "runs": rows,
    }
    bc.report(results, args.json)


if __name__ == "__main__":
    main()
