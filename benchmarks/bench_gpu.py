"""GPU check of DRAW in the paper's MNIST setting: values and training speed per precision and compile mode.

Run by ``benchmarks/gpu_check.sh`` on a GPU machine (or alone: ``PYTHONPATH=src python
benchmarks/bench_gpu.py``). For each variant

- ``eager fp32``: ``DRAW`` as is (float32 matmuls at "highest" precision: no TF32),
- ``compiled``: ``compile_step=True`` (``torch.compile``, mode ``default``),
- ``compiled reduce-overhead``: ``compile_mode="reduce-overhead"`` (CUDA graphs; CUDA only),
- ``eager bf16 autocast`` and ``compiled bf16 autocast``: the forward under
  ``torch.autocast(dtype=torch.bfloat16)``, backward and Adam in float32 parameters,

it first checks the values at the first batch size: loss and gradients of one forward+backward with
the seed's weights, batch and noise, against eager float32 and eager float64 (``loss_rel_diff``:
|mean loss - reference| / reference; ``loss_max_abs_diff`` per image in nats; ``grad_cosine``: cosine
of all gradients as one vector; ``grad_rel_norm_diff``: |g - g_ref| / |g_ref|). Then it times Adam
steps (forward, backward, ``optimizer.step``, lr 1e-3) at every batch size: images/s (median of 3
rounds of about a second each, after 3 warm-up steps; ``first_call_s`` is the first step, compilation
included), peak memory, and the time 100 epochs of 60,000 images would take at that rate.

Every variant runs in its own subprocess under a time limit (``--variant-timeout``, and the whole
run under ``--budget``); a variant that fails, times out or cannot run here is reported as such
and the others go on. Images: binarized MNIST from ``$DRAW_DATA_DIR`` if present, random binary
images otherwise (the same speed; noted in the results). Results: ``--json``, else
``$OUT/gpu_check.json`` when ``$OUT`` is set, else ``benchmarks/results/gpu_check_<time>.json``.

``--smoke``: a tiny model (T=4, otherwise the paper's sizes) at batch size 8 and short timing rounds on
whatever device there is (CPU here; CUDA-only variants are skipped with a note), to check the script.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAPER_MNIST = dict(num_steps=64, enc_hidden=256, dec_hidden=256, z_dim=100, read_n=2, write_n=5)
SMOKE = dict(PAPER_MNIST, num_steps=4)  # bench_train.py --smoke's model: inductor's cache serves both
IMAGE_SHAPE = (1, 28, 28)
EPOCH_IMAGES, EPOCHS = 60_000, 100
# name: (compile mode or None, bf16 autocast, CUDA only, time limit in s); run in this order.
VARIANTS = {
    "eager fp32": (None, False, False, 60),
    "eager bf16 autocast": (None, True, False, 60),
    "compiled": ("default", False, False, 150),
    "compiled bf16 autocast": ("default", True, False, 150),
    "compiled reduce-overhead": ("reduce-overhead", False, True, 150),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny model and batches, any device: checks the script")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    parser.add_argument("--batch-sizes", default=None, help="comma-separated (default 100,1000; smoke 8)")
    parser.add_argument("--variants", default=None, help=f"comma-separated subset of: {'; '.join(VARIANTS)}")
    parser.add_argument(
        "--variant-timeout", type=float, default=None, help="seconds per variant (default: per variant)"
    )
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for all variants together")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="results file (default: see the module docstring)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: run one variant
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.config = SMOKE if args.smoke else PAPER_MNIST
    spec = args.batch_sizes or ("8" if args.smoke else "100,1000")
    args.round_s = 0.05 if args.smoke else 1.0  # length of a timing round
    args.batch_list = [int(b) for b in spec.split(",") if b.strip()]
    if args.variants is None:
        args.variant_list = list(VARIANTS)
    else:
        args.variant_list = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [v for v in args.variant_list if v not in VARIANTS]
        if unknown:
            raise SystemExit(f"--variants: unknown {unknown}; choose from {list(VARIANTS)}")
    if not args.batch_list or min(args.batch_list) < 1:
        raise SystemExit("--batch-sizes must list positive integers")
    return args


# -- one variant, in its own process ---------------------------------------------------------------


def fixed_noise_mode(noise):
    """A mode in which ``torch.randn`` returns ``noise`` (shape checked): the same z for every run."""
    import torch
    from torch.overrides import TorchFunctionMode

    class FixedNoise(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is torch.randn:
                shape = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else tuple(args)
                if shape != tuple(noise.shape):
                    raise ValueError(f"noise of shape {tuple(noise.shape)}, randn asked for {shape}")
                return noise.clone()
            return func(*args, **(kwargs or {}))

    return FixedNoise()


def images(count: int, device, seed: int) -> tuple[object, str]:
    """``count`` binarized MNIST training images, or random binary ones if the file is missing."""
    import torch

    path = Path(os.environ.get("DRAW_DATA_DIR", HERE.parent.parent / "shared" / "data")) / "binarized_mnist"
    path = path / "binarized_mnist.npz"
    if path.is_file():
        import numpy as np

        with np.load(path) as data:
            train = data["train"]
        rows = np.resize(train, (count, train.shape[-1]))  # repeats the split if count is larger
        x = torch.from_numpy(rows.astype(np.float32)).view(count, *IMAGE_SHAPE)
        source = f"binarized MNIST ({path})"
    else:
        x = (torch.rand(count, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(seed)) < 0.13).float()
        source = "random binary images (13% ones; binarized MNIST not found)"
    return x.to(device), source


def run_variant(args: argparse.Namespace) -> dict:
    """Check and time ``args.worker``; the result is written to ``args.worker_out`` after each part."""
    import torch

    from draw_lightning.models import DRAW
    from draw_lightning.models.compile import compiler_available

    name = args.worker
    mode, bf16, cuda_only, _ = VARIANTS[name]
    device = torch.device(args.device)
    torch.set_float32_matmul_precision("highest")
    torch._dynamo.config.recompile_limit = 64
    result: dict = {"variant": name, "status": "running", "batches": {}}

    def save() -> None:
        args.worker_out.write_text(json.dumps(result, indent=2))

    if cuda_only and device.type != "cuda":
        result.update(status="skipped", note="CUDA graphs need a CUDA device")
        save()
        return result
    if mode is not None and not compiler_available(device):
        result.update(status="skipped", note=f"no compiler for {device.type} (Triton on CUDA, a C++ compiler on CPU)")
        save()
        return result

    def build(dtype=torch.float32, **options) -> torch.nn.Module:
        torch.manual_seed(args.seed)
        return DRAW(image_shape=IMAGE_SHAPE, **args.config, **options).to(device=device, dtype=dtype)

    options = {} if mode is None else dict(compile_step=True, compile_mode=mode)
    model = build(**options)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else None

    def loss_of(net: torch.nn.Module, x, generator=None):
        if mode == "reduce-overhead" and net is model:
            torch.compiler.cudagraph_mark_step_begin()
        if autocast is not None and net is model:
            with autocast():
                return net(x, generator=generator).loss.float()
        return net(x, generator=generator).loss

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    # Values: one forward+backward, same weights, batch and noise, against eager fp32 and fp64.
    data, result["images"] = images(max(args.batch_list) * 2, device, args.seed)
    x = data[: args.batch_list[0]]
    shape = (args.config["num_steps"], x.shape[0], args.config["z_dim"])
    noise = torch.randn(shape, generator=torch.Generator(device=device).manual_seed(args.seed), device=device)
    start = time.perf_counter()
    losses, grads = {}, {}
    for label, net in (("variant", model), ("fp32", build()), ("fp64", build(torch.float64))):
        if label == "fp64":  # the same z as float32 draws (randn's stream differs by dtype)
            with fixed_noise_mode(noise.double()):
                loss = loss_of(net, x.double())
        else:  # no mode around the compiled step: it would be traced, and guarded, with it
            loss = loss_of(net, x, torch.Generator(device=device).manual_seed(args.seed))
        loss.mean().backward()
        losses[label] = loss.detach().double()
        grads[label] = torch.cat([p.grad.detach().double().flatten() for p in net.parameters()])
        net.zero_grad(set_to_none=True)
        if label == "variant":
            sync()
            result["check_first_call_s"] = time.perf_counter() - start
    check = {}
    for ref in ("fp32", "fp64"):
        g, g_ref = grads["variant"], grads[ref]
        check[f"vs_eager_{ref}"] = dict(
            loss_mean=losses["variant"].mean().item(),
            loss_rel_diff=abs(losses["variant"].mean().item() / losses[ref].mean().item() - 1),
            loss_max_abs_diff=(losses["variant"] - losses[ref]).abs().max().item(),
            grad_cosine=(g @ g_ref / (g.norm() * g_ref.norm())).item(),
            grad_rel_norm_diff=((g - g_ref).norm() / g_ref.norm()).item(),
        )
    result["check"] = dict(batch=int(x.shape[0]), **check)
    c = check["vs_eager_fp32"]
    print(
        f"[{name}] values at batch {x.shape[0]} (first call {result['check_first_call_s']:.1f} s): "
        f"loss {c['loss_mean']:.4f} nats, vs eager fp32: relative "
        f"{c['loss_rel_diff']:.2e}, per image <= {c['loss_max_abs_diff']:.2e} nats, gradient cosine "
        f"{c['grad_cosine']:.6f}; vs eager fp64: loss relative {check['vs_eager_fp64']['loss_rel_diff']:.2e}, "
        f"gradient cosine {check['vs_eager_fp64']['grad_cosine']:.6f}",
        flush=True,
    )
    del grads
    save()

    # Speed: Adam steps at every batch size.
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb) -> None:
        loss = loss_of(model, xb).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for batch in args.batch_list:
        batches = [data[:batch], data[batch : 2 * batch]]
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        step(batches[0])
        sync()
        first_call_s = time.perf_counter() - start
        for i in range(2):  # warm-up (CUDA graphs record on the first calls)
            step(batches[i % 2])
        sync()
        start = time.perf_counter()
        step(batches[1])
        sync()
        per_step = time.perf_counter() - start
        steps = max(3, min(200, math.ceil(args.round_s / max(per_step, 1e-4))))
        rounds = []
        for _ in range(3):
            start = time.perf_counter()
            for i in range(steps):
                step(batches[i % 2])
            sync()
            rounds.append(time.perf_counter() - start)
        rate = batch * steps / statistics.median(rounds)
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        result["batches"][str(batch)] = dict(
            images_per_s=rate,
            step_ms=1000 * statistics.median(rounds) / steps,
            steps_per_round=steps,
            round_s=rounds,
            first_call_s=first_call_s,
            peak_memory_mb=peak,
            hours_for_100_epochs=EPOCHS * EPOCH_IMAGES / rate / 3600,
        )
        print(
            f"[{name}] batch {batch}: {rate:.0f} img/s ({1000 * statistics.median(rounds) / steps:.1f} ms/step), "
            f"first call {first_call_s:.1f} s, 100 epochs of 60k: {EPOCHS * EPOCH_IMAGES / rate / 3600:.2f} h"
            + (f", peak {peak:.0f} MiB" if peak is not None else ""),
            flush=True,
        )
        save()
    result["status"] = "ok"
    save()
    return result


# -- the driver ------------------------------------------------------------------------------------


def run_in_subprocess(name: str, args: argparse.Namespace, timeout: float, out: Path) -> dict:
    """One variant in a fresh process group, killed (with its compile workers) after ``timeout`` s."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--worker-out", str(out)]
    command += ["--device", args.device, "--batch-sizes", ",".join(map(str, args.batch_list))]
    command += ["--seed", str(args.seed)] + (["--smoke"] if args.smoke else [])
    start = time.monotonic()
    proc = subprocess.Popen(command, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    elapsed = time.monotonic() - start
    result = json.loads(out.read_text()) if out.is_file() else {"variant": name, "batches": {}}
    result["wall_s"] = elapsed
    if code is None:
        result.update(status="timeout", note=f"stopped after {timeout:.0f} s; figures so far kept")
    elif code != 0:
        result.update(status="failed", note=f"exit code {code} (traceback above)")
    return result


def default_json_path() -> Path:
    if os.environ.get("OUT"):
        return Path(os.environ["OUT"]) / "gpu_check.json"
    return HERE / "results" / f"gpu_check_{time.strftime('%Y-%m-%d_%H%M%S')}.json"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        run_variant(args)
        return 0
    import torch

    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    header = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "config": args.config,
        "batch_sizes": args.batch_list,
        "seed": args.seed,
        "smoke": args.smoke,
        "fp32_matmul_precision": "highest",
    }
    print(f"device {header['device']}, torch {header['torch']} (CUDA {header['cuda']}); model {args.config}")
    results = dict(header, variants={})
    path = args.json or default_json_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as work:
        for name in args.variant_list:
            results["variants"][name] = run_or_skip(name, args, deadline, Path(work))
            path.write_text(json.dumps(results, indent=2))  # after every variant: a killed run keeps what it has
    print_summary(results)
    print(f"results written to {path}")
    return 0


def run_or_skip(name: str, args: argparse.Namespace, deadline: float, work: Path) -> dict:
    """One variant's results: from its subprocess, or skipped (CUDA only here, or no time left)."""
    limit = args.variant_timeout or VARIANTS[name][3]
    left = deadline - time.monotonic()
    if VARIANTS[name][2] and args.device != "cuda":
        result = {"variant": name, "status": "skipped", "note": "CUDA graphs need a CUDA device", "batches": {}}
    elif left < 15:
        result = {"variant": name, "status": "skipped", "note": f"--budget {args.budget:.0f} s used up", "batches": {}}
    else:
        print(f"\n== {name} (limit {min(limit, left):.0f} s)", flush=True)
        result = run_in_subprocess(name, args, min(limit, left), work / f"{name.replace(' ', '_')}.json")
    if result["status"] != "ok":
        print(f"note: {name}: {result['status']}: {result.get('note', '')}", flush=True)
    return result


def print_summary(results: dict) -> None:
    print(f"\n{'variant':<26}{'status':<9}{'loss rel':>10}{'grad cos':>10}{'1st call s':>11}", end="")
    batches = [str(b) for b in results["batch_sizes"]]
    print("".join(f"{f'img/s @{b}':>14}{'100 ep. h':>10}" for b in batches))
    for name, r in results["variants"].items():
        check = r.get("check", {}).get("vs_eager_fp32")
        cells = f"{name:<26}{r['status']:<9}"
        cells += f"{check['loss_rel_diff']:>10.1e}{check['grad_cosine']:>10.5f}" if check else f"{'-':>10}{'-':>10}"
        cells += f"{r['check_first_call_s']:>11.1f}" if "check_first_call_s" in r else f"{'-':>11}"
        for b in batches:
            figures = r.get("batches", {}).get(b)
            cells += (
                f"{figures['images_per_s']:>14.0f}{figures['hours_for_100_epochs']:>10.2f}"
                if figures
                else f"{'-':>14}{'-':>10}"
            )
        print(cells)
    print(
        "(loss rel, grad cos: against eager fp32 at the first batch size, same weights, batch and noise; "
        "1st call: forward+backward there, compilation included)"
    )


if __name__ == "__main__":
    sys.exit(main())
