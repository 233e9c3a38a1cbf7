"""Quick, Draw! loader benchmark: throughput against a DRAW training step, and memory against file size.

Run from the repository root (DRAW_DATA_DIR pointing at the datasets):
    PYTHONPATH=src python benchmarks/bench_data.py [--rows 30000 300000] [--steps 20] [--threads 1]

Prints, in one run:
1. the loader's images/s over the offline Quick, Draw! mix (every category in
   $DRAW_DATA_DIR/quickdraw), batch reads and per-image reads, next to the images/s a DRAW training
   step consumes (the report's setting: T=20, read 5, write 5, z=10, 256 LSTM units, batch 64);
2. peak resident memory of a process that reads one full training epoch of a synthetic
   file of each size in ``--rows`` (written to a temporary directory), with this
   loader and, for comparison, with a plain ``np.memmap``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from draw_lightning.data import QuickDrawDataModule
from draw_lightning.data.samplers import EpochShuffleSampler
from draw_lightning.models import DRAW

BATCH = 64


def loader_rate(dm: QuickDrawDataModule, *, per_image: bool, max_batches: int) -> float:
    """Images/s of the training loader (batch reads), or of one ``dataset[i]`` call per image."""
    loader = dm.train_dataloader()
    dataset = dm.splits["train"]
    start, images = time.perf_counter(), 0
    if per_image:
        order = list(EpochShuffleSampler(len(dataset), seed=0))
        for b in range(min(max_batches, len(order) // BATCH)):
            batch = [dataset[i] for i in order[b * BATCH : (b + 1) * BATCH]]
            torch.utils.data.default_collate(batch)
            images += len(batch)
    else:
        for b, (x, _) in enumerate(loader):
            images += len(x)
            if b + 1 == max_batches:
                break
    return images / (time.perf_counter() - start)


def training_rate(*, steps: int) -> float:
    """Images/s consumed by DRAW training steps (forward, backward, RMSprop) on random [0, 1] images."""
    torch.set_flush_denormal(True)
    model = DRAW(image_shape=(1, 28, 28), num_steps=20, enc_hidden=256, dec_hidden=256, z_dim=10, read_n=5, write_n=5)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    x = torch.rand(BATCH, 1, 28, 28)
    for step in range(steps + 3):
        if step == 3:  # warm-up done
            start = time.perf_counter()
        optimizer.zero_grad()
        model(x).loss.mean().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
    return steps * BATCH / (time.perf_counter() - start)


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_child(data_dir: str, reader: str) -> None:
    """One training epoch over ``<data_dir>/quickdraw/cat.npy``; prints peak and growth of RSS (MiB)."""
    dm = QuickDrawDataModule(categories=["cat"], data_dir=data_dir, cache_dir=data_dir, batch_size=BATCH)
    dm.setup()
    before = status_kib("VmRSS")
    dataset = dm.splits["train"]
    if reader == "loader":
        images = sum(len(x) for x, _ in dm.train_dataloader())
    else:  # the same batches through a memory map
        array = np.load(Path(data_dir) / "quickdraw" / "cat.npy", mmap_mode="r")
        rows = dataset.rows[0]
        order = np.fromiter(EpochShuffleSampler(len(dataset), seed=0), dtype=np.int64)
        images = 0
        for b in range(0, len(order), BATCH):
            batch = np.sort(rows[order[b : b + BATCH]])
            images += len(torch.from_numpy(array[batch]).float().div_(255))
    print(images, status_kib("VmHWM") / 1024, (status_kib("VmHWM") - before) / 1024)


def peak_rss(rows: int, tmp: Path, reader: str) -> tuple[int, float, float]:
    path = tmp / "quickdraw" / "cat.npy"
    if not path.is_file() or np.load(path, mmap_mode="r").shape[0] != rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(rows, 784))
        rng = np.random.default_rng(0)
        for start in range(0, rows, 50_000):  # written in chunks: the parent stays small too
            stop = min(rows, start + 50_000)
            array[start:stop] = rng.integers(0, 256, (stop - start, 784), dtype=np.uint8)
        array.flush()
        del array
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"), *sys.path])}
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(tmp), reader], check=True, capture_output=True, text=True, env=env
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--steps", type=int, default=20, help="timed DRAW training steps")
    parser.add_argument("--batches", type=int, default=200, help="loader batches timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: fair on a shared CPU)")
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    torch.set_num_threads(args.threads)

    data_dir = Path(os.environ.get("DRAW_DATA_DIR", Path(__file__).parents[2] / "shared" / "data"))
    categories = sorted(p.stem for p in (data_dir / "quickdraw").glob("*.npy"))
    dm = QuickDrawDataModule(categories=categories, data_dir=data_dir, batch_size=BATCH, download=False)
    dm.setup()
    print(
        f"Quick, Draw! mix: {len(categories)} categories ({', '.join(categories)}), "
        f"{len(dm.splits['train'])} training images, batch {BATCH}, torch threads {torch.get_num_threads()}"
    )
    batched = loader_rate(dm, per_image=False, max_batches=args.batches)
    per_image = loader_rate(dm, per_image=True, max_batches=args.batches)
    consumed = training_rate(steps=args.steps)
    print(f"loader, batch reads        {batched:12,.0f} images/s")
    print(f"loader, one read per image {per_image:12,.0f} images/s  (batch reads x{batched / per_image:.1f})")
    print(
        f"DRAW training step         {consumed:12,.0f} images/s  ({BATCH / consumed * 1e3:.1f} ms per batch of {BATCH})"
    )
    print(
        f"loader / training step     {batched / consumed:12,.1f} x  -> the loader is "
        f"{'NOT ' if batched > consumed else ''}the bottleneck"
    )

    print("\npeak RSS over one training epoch (80% of the rows), subprocess per run:")
    print(f"{'rows':>9} {'reader':>8} {'images read':>12} {'peak RSS MiB':>13} {'growth MiB':>11}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        for rows in args.rows:
            for reader in ("loader", "memmap"):
                images, peak, growth = peak_rss(rows, Path(tmp) / str(rows), reader)
                results[rows, reader] = peak
                print(f"{rows:>9,} {reader:>8} {images:>12,} {peak:>13.1f} {growth:>11.1f}")
    small, large = min(args.rows), max(args.rows)
    if small != large:
        for reader in ("loader", "memmap"):
            ratio = results[large, reader] / results[small, reader]
            print(f"{reader}: peak RSS x{ratio:.2f} for x{large / small:.0f} rows")


if __name__ == "__main__":
    main()
