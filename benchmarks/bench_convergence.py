"""Convergence on binarized MNIST: the project's DRAW (tiled windows) against the paper's initialisation.

Trains, at the same time in two one-thread processes, on the same minibatches and noise:

- ``tile``: ``draw_lightning.models.DRAW`` as shipped (``window_init="tile"``: each attention grid
  starts tiling the image), and
- ``paper``: ``straightforward_draw.StraightforwardDRAW``, an independent per-step implementation
  of the same equations with the paper's literal initialisation (zero bias of the window layers)
  and filter rows normalised as public implementations do (``normalisation="eps"``), as they have it.

Both: Adam (lr 1e-3), gradient norm clipped at 10, minibatches of 64 drawn from the training
split by the same seeded generator. Every ``--eval-every-s`` seconds of training (and at every
``--marks`` minute) the validation -ELBO and KL are measured on the first ``--val-images``
images of the ``valid`` split with fixed noise; the training clock is paused while evaluating.
Prints, for each model, -ELBO and KL at the marks and the training time to reach each
``--thresholds`` value, and the ratio of those times; ``--png`` plots both curves.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_convergence.py --minutes 10 \\
        --png convergence.png --json convergence.json
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import queue
import time
import traceback
from pathlib import Path

import bench_common as bc
import numpy as np
import torch

MODELS = {
    "tile": "project DRAW, tiled windows",
    "paper": "straightforward DRAW, paper init",
}
SMOKE = dict(num_steps=4, enc_hidden=32, dec_hidden=32, z_dim=8, read_n=2, write_n=5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=None, help="training wall clock per model (10; smoke 0.25)")
    parser.add_argument("--eval-every-s", type=float, default=None, help="seconds of training between evaluations")
    parser.add_argument("--val-images", type=int, default=None, help="first images of the valid split (1000)")
    parser.add_argument("--marks", default=None, help="minutes at which to report, e.g. 1,2,5,10")
    parser.add_argument("--thresholds", default="200,150,120,100", help="validation -ELBO levels in nats")
    parser.add_argument("--num-steps", type=int, default=None, help="T (64)")
    parser.add_argument("--enc-hidden", type=int, default=None, help="encoder LSTM units (256)")
    parser.add_argument("--dec-hidden", type=int, default=None, help="decoder LSTM units (256)")
    parser.add_argument("--z-dim", type=int, default=None, help="latent size (100)")
    parser.add_argument("--read-n", type=int, default=None, help="read grid N (2)")
    parser.add_argument("--write-n", type=int, default=None, help="write grid N (5)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clip", type=float, default=10.0, help="gradient norm clip")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of each training process")
    parser.add_argument("--smoke", action="store_true", help="tiny model (T=4, LSTM 32, z=8), ~20 s: checks the script")
    parser.add_argument("--png", type=Path, default=None, help="plot of validation -ELBO against training time")
    parser.add_argument("--json", type=Path, default=None, help="all curve points and the summary")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's malloc as it is (by default freed memory is kept)"
    )
    args = parser.parse_args(argv)
    base = SMOKE if args.smoke else bc.PAPER_MNIST
    args.config = {key: getattr(args, key) if getattr(args, key) is not None else base[key] for key in base}
    defaults = (0.25, 3.0, 200, "0.1,0.2") if args.smoke else (10.0, 30.0, 1000, "1,2,5,10")
    for key, value in zip(("minutes", "eval_every_s", "val_images", "marks"), defaults, strict=True):
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.mark_list = [float(m) for m in args.marks.split(",") if m.strip()]
    args.threshold_list = sorted((float(t) for t in args.thresholds.split(",") if t.strip()), reverse=True)
    if args.minutes <= 0 or args.eval_every_s <= 0 or args.val_images < 1 or args.threads < 1:
        raise SystemExit("--minutes, --eval-every-s, --val-images and --threads must be positive")
    return args


def load_split(split: str, count: int | None = None) -> torch.Tensor:
    """Images of a binarized MNIST split as uint8 ``(N, 1, 28, 28)`` (converted per batch)."""
    path = bc.data_dir() / bc.MNIST_FILE
    if not path.is_file():
        raise SystemExit(f"binarized MNIST not found at {path}; set DRAW_DATA_DIR to the shared data folder")
    with np.load(path) as data:
        images = data[split] if count is None else data[split][:count]
    return torch.from_numpy(np.ascontiguousarray(images)).view(-1, *bc.IMAGE_SHAPE)


def data_mean_bound(train: torch.Tensor, val: torch.Tensor) -> float:
    """-ELBO in nats of the best model that ignores z (KL 0): every pixel Bernoulli with the training mean."""
    p = train.double().mean(0).clamp(1e-6, 1 - 1e-6)
    x = val.double()
    return -(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(-1).mean().item()


def build(kind: str, config: dict) -> torch.nn.Module:
    if kind == "tile":
        from draw_lightning.models import DRAW

        return DRAW(image_shape=bc.IMAGE_SHAPE, window_init="tile", **config)
    from straightforward_draw import StraightforwardDRAW

    # The setting the 2026-12-02 figures measured: zero window bias, rows f / (sum f + 1e-8), no log bounds.
    return StraightforwardDRAW(
        image_shape=bc.IMAGE_SHAPE, window_init="paper", normalisation="eps", log_limit=None, **config
    )


@torch.no_grad()
def evaluate(model: torch.nn.Module, val: torch.Tensor, seed: int, chunk: int = 500) -> tuple[float, float, float]:
    """Mean validation (-ELBO, KL, reconstruction) in nats, with the same noise at every call."""
    generator = torch.Generator().manual_seed(seed)
    sums = torch.zeros(3, dtype=torch.float64)
    for start in range(0, len(val), chunk):
        out = model(val[start : start + chunk].float(), generator=generator)
        sums += torch.stack([out.loss.sum(), out.kl.sum(), out.rec_loss.sum()]).double()
    loss, kl, rec = (sums / len(val)).tolist()
    return loss, kl, rec


def train_worker(kind: str, args: argparse.Namespace, results: mp.Queue) -> None:
    """One model's run in its own process; puts ``(kind, result dict)`` or ``(kind, traceback)``."""
    try:
        results.put((kind, train(kind, args)))
    except BaseException:  # noqa: B036 - reported to the parent, which exits with it
        results.put((kind, traceback.format_exc()))


def train(kind: str, args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if not args.default_malloc:
        from draw_lightning.utils.runtime import keep_freed_memory

        keep_freed_memory()
    train_images = load_split("train")
    val = load_split("valid", args.val_images)
    torch.manual_seed(args.seed)
    model = build(kind, args.config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    batches = torch.Generator().manual_seed(args.seed)  # the same minibatches for both models
    noise = torch.Generator().manual_seed(args.seed + 1)  # and the same training noise
    budget = args.minutes * 60
    pending_marks = sorted(m * 60 for m in args.mark_list if m * 60 <= budget)
    points: list[dict] = []
    train_s, steps, since = 0.0, 0, []
    name = MODELS[kind]

    def record() -> bool:
        start = time.perf_counter()
        loss, kl, rec = evaluate(model, val, args.seed + 2)
        train_loss = float(np.mean(since)) if since else None
        points.append(dict(train_s=train_s, step=steps, val_loss=loss, val_kl=kl, val_rec=rec, train_loss=train_loss))
        since.clear()
        points[-1]["eval_s"] = time.perf_counter() - start
        print(
            f"[{name}] {train_s / 60:6.2f} min, step {steps:6d}: val -ELBO {loss:8.2f}, KL {kl:6.2f} nats",
            flush=True,
        )
        return math.isfinite(loss)

    finite = record()
    next_eval = args.eval_every_s
    while finite and train_s < budget:
        start = time.perf_counter()
        idx = torch.randint(0, len(train_images), (args.batch_size,), generator=batches)
        loss = model(train_images[idx].float(), generator=noise).loss.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        train_s += time.perf_counter() - start
        steps += 1
        since.append(loss.item())
        due_mark = bool(pending_marks) and train_s >= pending_marks[0]
        if train_s >= next_eval or due_mark or train_s >= budget:
            while pending_marks and train_s >= pending_marks[0]:
                pending_marks.pop(0)
            finite = record()
            next_eval = (math.floor(train_s / args.eval_every_s) + 1) * args.eval_every_s
    return dict(
        name=name,
        points=points,
        steps=steps,
        train_s=train_s,
        diverged=not finite,
        parameters=sum(p.numel() for p in model.parameters()),
    )


def first_at(points: list[dict], minutes: float) -> dict | None:
    """The first evaluation at or after ``minutes`` of training."""
    return next((p for p in points if p["train_s"] >= minutes * 60 - 1e-9), None)


def time_to(points: list[dict], threshold: float) -> dict | None:
    """The first evaluation with validation -ELBO <= ``threshold``."""
    return next((p for p in points if p["val_loss"] <= threshold), None)


def summarise(args: argparse.Namespace, runs: dict[str, dict], bound: float) -> dict:
    width = max(len(n) for n in MODELS.values()) + 2
    summary: dict = {"marks": {}, "thresholds": {}, "ratios": {}}
    print("\nvalidation -ELBO / KL (nats) after M minutes of training (evaluations not counted), and steps taken")
    print(f"{'model':<{width}}" + "".join(f"{f'{m:g} min':>24}" for m in args.mark_list))
    for kind, run in runs.items():
        cells = []
        for mark in args.mark_list:
            point = first_at(run["points"], mark) if mark * 60 <= run["train_s"] + 1e-9 else None
            summary["marks"].setdefault(kind, {})[str(mark)] = point
            cells.append(
                f"{point['val_loss']:.2f} / {point['val_kl']:.2f} ({point['step']})" if point else "not trained"
            )
        print(f"{MODELS[kind]:<{width}}" + "".join(f"{c:>24}" for c in cells))

    print("\ntraining minutes (steps) to first reach validation -ELBO <= threshold")
    print(f"{'model':<{width}}" + "".join(f"{f'{t:g} nats':>18}" for t in args.threshold_list))
    for kind, run in runs.items():
        cells = []
        for threshold in args.threshold_list:
            point = time_to(run["points"], threshold)
            summary["thresholds"].setdefault(kind, {})[str(threshold)] = point
            cells.append(f"{point['train_s'] / 60:.2f} ({point['step']})" if point else "not reached")
        print(f"{MODELS[kind]:<{width}}" + "".join(f"{c:>18}" for c in cells))
    for threshold in args.threshold_list:
        tile, paper = (summary["thresholds"][k][str(threshold)] for k in ("tile", "paper"))
        ratio = paper["train_s"] / tile["train_s"] if tile and paper and tile["train_s"] > 0 else None
        summary["ratios"][str(threshold)] = ratio
        if ratio is not None:
            print(f"<= {threshold:g} nats: the paper init needed {ratio:.2f}x the training time of the tiled windows")
        elif tile and not paper:
            print(f"<= {threshold:g} nats: reached by the tiled windows only")
    print(f"\ndata-mean reference (every pixel Bernoulli with its training mean, KL 0): {bound:.2f} nats")
    for kind, run in runs.items():
        rate = run["steps"] * args.batch_size / run["train_s"] if run["train_s"] > 0 else 0.0
        final = run["points"][-1]
        print(
            f"{MODELS[kind]}: {run['steps']} steps in {run['train_s'] / 60:.2f} min ({rate:.1f} img/s), "
            f"final val -ELBO {final['val_loss']:.2f}, KL {final['val_kl']:.2f}"
            + (" (diverged)" if run["diverged"] else "")
        )
    return summary


def setting_text(args: argparse.Namespace) -> str:
    c = args.config
    return (
        f"T={c['num_steps']}, LSTM {c['enc_hidden']}/{c['dec_hidden']}, z={c['z_dim']}, "
        f"read {c['read_n']}x{c['read_n']}, write {c['write_n']}x{c['write_n']}, "
        f"batch {args.batch_size}, Adam {args.lr:g}, clip {args.clip:g}"
    )


def plot(path: Path, args: argparse.Namespace, runs: dict[str, dict], bound: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    later = []
    for kind, run in runs.items():
        minutes = [p["train_s"] / 60 for p in run["points"]]
        losses = [p["val_loss"] for p in run["points"]]
        later += losses[1:]
        ax.plot(minutes, losses, marker=".", label=MODELS[kind])
    ax.axhline(bound, color="grey", linestyle="--", linewidth=1, label=f"data mean, KL 0 ({bound:.1f} nats)")
    finite = [v for v in later if math.isfinite(v)]
    if finite:  # the initial evaluation (~540 nats) would flatten the rest of the curves
        top = max(max(finite), bound)
        bottom = min(min(finite), bound)
        ax.set_ylim(bottom - 0.05 * (top - bottom) - 1, top + 0.05 * (top - bottom) + 1)
    ax.set_xlabel("training wall time (minutes, evaluation excluded; 1 thread per model, run concurrently)")
    ax.set_ylabel(f"validation -ELBO (nats, first {args.val_images} valid images)")
    ax.set_title(f"DRAW on binarized MNIST: tiled windows vs the paper's init\n{setting_text(args)}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"plot written to {path}")


def main() -> None:
    args = parse_args()
    train_images = load_split("train")
    val = load_split("valid", args.val_images)
    bound = data_mean_bound(train_images, val)
    del train_images
    print(f"setting: {setting_text(args)}")
    print(
        f"{args.minutes:g} training minutes per model, both at once in {len(MODELS)} processes "
        f"x {args.threads} thread(s); evaluation every {args.eval_every_s:g} s of training on {len(val)} valid images"
    )
    context = mp.get_context("spawn")
    results = context.Queue()
    workers = {kind: context.Process(target=train_worker, args=(kind, args, results)) for kind in MODELS}
    for worker in workers.values():
        worker.start()
    runs: dict[str, dict] = {}
    try:
        while len(runs) < len(workers):
            try:
                kind, result = results.get(timeout=10)
            except queue.Empty:
                dead = [k for k, w in workers.items() if k not in runs and not w.is_alive()]
                if dead and results.empty():
                    raise SystemExit(f"training process of {', '.join(dead)} died without a result") from None
                continue
            if isinstance(result, str):
                raise SystemExit(f"training of {MODELS[kind]} failed:\n{result}")
            runs[kind] = result
    finally:
        for worker in workers.values():
            if worker.is_alive() and len(runs) < len(workers):
                worker.terminate()
            worker.join()
    runs = {kind: runs[kind] for kind in MODELS}
    summary = summarise(args, runs, bound)
    if args.png is not None:
        plot(args.png, args, runs, bound)
    results_json = {
        "config": args.config,
        "setting": setting_text(args),
        "minutes": args.minutes,
        "eval_every_s": args.eval_every_s,
        "val_images": len(val),
        "seed": args.seed,
        "data_mean_bound": bound,
        "models": runs,
        "summary": summary,
    }
    bc.report(results_json, args.json)


if __name__ == "__main__":
    main()
