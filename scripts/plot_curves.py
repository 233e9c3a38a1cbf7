"""Training curves of DRAW runs from their own logs (Lightning CSV or W&B offline), as one PNG.

Usage (a run folder; or its ``csv/metrics.csv``, its ``wandb`` folder or one ``.wandb`` file):
    python scripts/plot_curves.py --run attn=/tmp/runs/mnist_attn --run noattn=/tmp/runs/mnist_noattn \
        --out docs/results/binarized_mnist_curves.png --title "binarized MNIST" --ylim-loss 80 140

A run folder is read from ``csv/metrics.csv`` (``logger=csv``) when it has one, else from its W&B
files ``wandb/offline-run-*/run-*.wandb`` (``logger=wandb``, the default, offline or online: W&B
keeps the same file locally), all of them in time order when the run was resumed.

A 2x2 grid: -ELBO (train and val) against training steps and against wall time (minutes), then KL
the same way. Each run has one colour; train is a thin, faint line, val a solid line with markers.
Wall time is ``time/elapsed_s`` (the ``WallClock`` callback), logged with the training metrics
(W&B logs without it fall back to W&B's own ``_runtime``, which also counts the start-up);
a validation's time is interpolated from the training rows by step. A CSV file without that
column draws only the step panels (with a warning). Exit code 2 for a missing or unreadable log.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from draw_lightning.tracking.wandb_sync import read_records

STEP, TIME = "step", "time/elapsed_s"
TRAIN_LOSS, TRAIN_KL = "train/loss", "train/kl"
VAL_LOSS, VAL_KL = "val/loss", "val/kl"
# W&B history keys: Lightning's step (WandbLogger adds it to each of its log calls; the number the
# CSV log has as ``step``), else W&B's own count of log calls; W&B's seconds since its start.
WANDB_STEP, WANDB_COUNT, WANDB_RUNTIME = "trainer/global_step", "_step", "_runtime"
# W&B's run folders under <run>/wandb: offline-run-<date>_<time>-<id> (run-... when online).
WANDB_RUN_DIRS = ("offline-run-*", "run-*")
# Size of the written PNG: FIGSIZE inches at DPI dots per inch.
FIGSIZE = (12.0, 8.0)
DPI = 100


class CurvesError(Exception):
    """A log that is missing or is not a Lightning CSV log or a W&B run file of a training run."""


class NoWallTimeWarning(UserWarning):
    """A log without wall time (``time/elapsed_s``): only the panels against steps are drawn."""


@dataclass
class Curves:
    """The curves of one run. Times in seconds; ``None`` when the log has no wall time. ``path``
    is the metrics.csv, or the W&B file or folder (``<run>/wandb``) the curves were read from."""

    label: str
    path: Path
    train_step: np.ndarray
    train_loss: np.ndarray
    train_kl: np.ndarray
    train_time: np.ndarray | None
    val_step: np.ndarray
    val_loss: np.ndarray
    val_kl: np.ndarray
    val_time: np.ndarray | None

    @property
    def has_time(self) -> bool:
        return self.train_time is not None


def _wandb_run_time(folder: Path) -> tuple[str, str]:
    """Sort key of a W&B run folder: its start (``offline-run-20261202_074546-6ari7phx``), then name."""
    parts = folder.name.removeprefix("offline-").split("-")
    return (parts[1] if len(parts) > 2 else "", folder.name)


def wandb_files(folder: Path) -> list[Path]:
    """The W&B run files (``run-*.wandb``) of a run folder, its ``wandb`` folder or one W&B run
    folder, oldest run first (a resumed run has one W&B run folder per start)."""
    own = sorted(folder.glob("run-*.wandb"))
    if own:
        return own
    base = folder / "wandb" if (folder / "wandb").is_dir() else folder
    runs = [d for pattern in WANDB_RUN_DIRS for d in base.glob(pattern) if d.is_dir() and not d.is_symlink()]
    return [file for run in sorted(runs, key=_wandb_run_time) for file in sorted(run.glob("run-*.wandb"))]


def find_logs(path: str | Path) -> tuple[str, list[Path]]:
    """A run's log: ``("csv", [metrics.csv])`` or ``("wandb", [its .wandb files, oldest first])``.

    ``path`` is a run folder (its ``csv/metrics.csv`` or ``metrics.csv`` if there is one, else its
    W&B files ``wandb/offline-run-*/run-*.wandb``), a ``wandb`` or W&B run folder, or a metrics.csv
    or ``.wandb`` file; :class:`CurvesError` when there is none.
    """
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "csv" / "metrics.csv", path / "metrics.csv"):
            if candidate.is_file():
                return "csv", [candidate]
        files = wandb_files(path)
        if files:
            return "wandb", files
        raise CurvesError(
            f"{path}: no metrics in this run folder: neither {path / 'csv' / 'metrics.csv'} (logger=csv) nor "
            f"W&B run files {path / 'wandb' / 'offline-run-*' / 'run-*.wandb'} (logger=wandb)"
        )
    if not path.is_file():
        raise CurvesError(
            f"{path}: metrics file not found (expected a run folder with csv/metrics.csv or "
            "wandb/offline-run-*/run-*.wandb, or one of those files)"
        )
    return ("wandb" if path.suffix == ".wandb" else "csv"), [path]


def default_label(path: Path) -> str:
    """A run's name: its folder (``<run>/csv/metrics.csv``, ``<run>/wandb/offline-run-*/run-*.wandb`` -> ``<run>``)."""
    path = path.resolve()
    folder = path if path.is_dir() else path.parent
    if folder.parent.name == "wandb" and folder.name.startswith(("offline-run-", "run-")):
        folder = folder.parent
    return folder.parent.name if folder.name in ("csv", "wandb") else folder.name


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _json_number(text: str | None) -> float | None:
    """A logged W&B value (JSON) as a number; ``None`` for no value, or not a number."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def interpolate_time(steps: Sequence[float], known_steps: Sequence[float], known_times: Sequence[float]) -> np.ndarray:
    """Times at ``steps``, linear in step between the known (step, time) points and extended
    along the first or last segment beyond them (never below 0). A step logged twice (a resumed
    run) keeps its last time."""
    by_step = dict(zip((float(s) for s in known_steps), (float(t) for t in known_times), strict=True))
    if not by_step:
        raise ValueError("no (step, time) points to interpolate from")
    xs = np.array(sorted(by_step))
    ys = np.array([by_step[x] for x in xs])
    steps = np.asarray(steps, dtype=float)
    times = np.interp(steps, xs, ys)
    if len(xs) >= 2:
        before, after = steps < xs[0], steps > xs[-1]
        times[before] = ys[0] + (steps[before] - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
        times[after] = ys[-1] + (steps[after] - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return np.maximum(times, 0.0)


def wandb_records(file: Path) -> Iterator[bytes]:
    """The records of a W&B run file, in order (W&B's own format, read by ``utils.wandb_sync``);
    :class:`CurvesError` for a file that is not one, cannot be read or fails a checksum."""
    try:
        yield from read_records(file)
    except (OSError, ValueError) as err:
        raise CurvesError(f"{file}: {err}" if isinstance(err, OSError) else str(err)) from err


def wandb_history(files: Sequence[Path]) -> Iterator[dict[str, str]]:
    """The history rows (``wandb.log`` calls) of W&B run files, in order: key -> value as JSON."""
    try:
        from google.protobuf.message import DecodeError
        from wandb.proto import wandb_internal_pb2
    except ImportError as err:
        raise CurvesError(f"{files[0]}: reading a W&B run file needs the wandb package ({err})") from err
    for file in files:
        for data in wandb_records(file):
            record = wandb_internal_pb2.Record()
            try:
                record.ParseFromString(data)
            except DecodeError as err:
                raise CurvesError(f"{file}: cannot parse a W&B record ({err})") from err
            if record.WhichOneof("record_type") == "history":
                yield {item.key or "/".join(item.nested_key): item.value_json for item in record.history.item}


def _read_csv(file: Path) -> tuple[list, list, list, str]:
    """(train, val, clock) points of a Lightning CSV log, and why there is no clock if there is none."""
    try:
        with file.open(newline="") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise CurvesError(f"{file}: cannot read it as CSV ({err})") from err
    missing = [c for c in (STEP, TRAIN_LOSS) if c not in columns]
    if missing:
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "") if columns else "none"
        raise CurvesError(
            f"{file}: missing column(s) {', '.join(repr(c) for c in missing)} (columns found: {shown}); "
            "expected the metrics.csv of a run trained with logger=csv"
        )

    train, val, clock = [], [], []
    for row in rows:
        step = _number(row.get(STEP))
        if step is None:
            continue
        loss, kl, elapsed = _number(row.get(TRAIN_LOSS)), _number(row.get(TRAIN_KL)), _number(row.get(TIME))
        if loss is not None:
            train.append((step, loss, math.nan if kl is None else kl))
        if elapsed is not None:
            clock.append((step, elapsed))
        val_loss, val_kl = _number(row.get(VAL_LOSS)), _number(row.get(VAL_KL))
        if val_loss is not None:
            val.append((step, val_loss, math.nan if val_kl is None else val_kl))
    why = f"no {TIME!r} column" if TIME not in columns else f"no value in its {TIME!r} column"
    return train, val, clock, why


def _read_wandb(files: Sequence[Path]) -> tuple[list, list, list, str]:
    """(train, val, clock) points of W&B run files, each step once (its last logged value), by step.

    The step is ``trainer/global_step`` (``_step`` in a row without it); the clock
    ``time/elapsed_s``, else the training rows' ``_runtime``.
    """
    train, val, elapsed, runtime = {}, {}, {}, {}
    for row in wandb_history(files):
        step = _json_number(row.get(WANDB_STEP))
        if step is None:
            step = _json_number(row.get(WANDB_COUNT))
        if step is None:
            continue
        loss, kl = _json_number(row.get(TRAIN_LOSS)), _json_number(row.get(TRAIN_KL))
        if loss is not None:
            train[step] = (loss, math.nan if kl is None else kl)
            seconds = _json_number(row.get(WANDB_RUNTIME))
            if seconds is not None:
                runtime[step] = seconds
        seconds = _json_number(row.get(TIME))
        if seconds is not None:
            elapsed[step] = seconds
        val_loss, val_kl = _json_number(row.get(VAL_LOSS)), _json_number(row.get(VAL_KL))
        if val_loss is not None:
            val[step] = (val_loss, math.nan if val_kl is None else val_kl)
    if not train:
        raise CurvesError(
            f"{files[0].parent.parent if len(files) > 1 else files[0]}: no {TRAIN_LOSS!r} in the W&B history "
            f"of {len(files)} run file(s); expected a run of draw_lightning.train logged with logger=wandb"
        )
    clock = elapsed or runtime
    return (
        [(s, *train[s]) for s in sorted(train)],
        [(s, *val[s]) for s in sorted(val)],
        [(s, clock[s]) for s in sorted(clock)],
        f"no {TIME!r} or {WANDB_RUNTIME!r} in its W&B history",
    )


def read_curves(path: str | Path, label: str | None = None) -> Curves:
    """The curves of a run of ``draw_lightning.train`` from its Lightning CSV log or W&B run files.

    ``path`` is a run folder (read from ``csv/metrics.csv`` if it has one, else from all its W&B
    run files ``wandb/offline-run-*/run-*.wandb`` in time order, a step logged again by a resumed
    run keeping its last value), a ``wandb`` or W&B run folder, or a metrics.csv or .wandb file.
    Training points are those with ``train/loss``, validation points those with ``val/loss``.
    Warns (:class:`NoWallTimeWarning`) when there is no wall time; raises :class:`CurvesError` for
    a missing log, a CSV file without ``step`` and ``train/loss`` columns, or W&B files without
    ``train/loss``.
    """
    given = Path(path)
    kind, files = find_logs(given)
    if kind == "csv":
        source = files[0]
        train, val, clock, why = _read_csv(source)
    else:
        source = files[0] if given.is_file() else files[0].parent.parent
        train, val, clock, why = _read_wandb(files)

    def columns_of(points: list[tuple[float, ...]], width: int) -> list[np.ndarray]:
        array = np.array(points, dtype=float).reshape(-1, width)
        return [array[:, i] for i in range(width)]

    train_step, train_loss, train_kl = columns_of(train, 3)
    val_step, val_loss, val_kl = columns_of(val, 3)
    train_time = val_time = None
    if clock:
        clock_step, clock_time = columns_of(clock, 2)
        train_time = interpolate_time(train_step, clock_step, clock_time)
        val_time = interpolate_time(val_step, clock_step, clock_time)
    else:
        warnings.warn(
            f"{source}: {why} (logged by the WallClock callback); drawing only the panels against steps for this run",
            NoWallTimeWarning,
            stacklevel=2,
        )
    return Curves(
        label=label if label is not None else default_label(given),
        path=source,
        train_step=train_step,
        train_loss=train_loss,
        train_kl=train_kl,
        train_time=train_time,
        val_step=val_step,
        val_loss=val_loss,
        val_kl=val_kl,
        val_time=val_time,
    )


def merge_curves(parts: Sequence[Curves]) -> Curves:
    """One run from the logs of its parts (a run and its resumptions), by step; a step logged by
    several parts keeps the later part's value. The wall clock continues across parts (WallClock
    keeps it in the checkpoint), so times are merged as they are."""
    if len(parts) == 1:
        return parts[0]
    has_time = all(p.has_time for p in parts)

    def merged(prefix: str) -> list[np.ndarray]:
        rows: dict[float, tuple[float, float, float]] = {}
        for part in parts:
            steps = getattr(part, f"{prefix}_step")
            times = getattr(part, f"{prefix}_time") if has_time else np.full(len(steps), math.nan)
            losses, kls = getattr(part, f"{prefix}_loss"), getattr(part, f"{prefix}_kl")
            for step, loss, kl, t in zip(steps, losses, kls, times, strict=True):
                rows[float(step)] = (loss, kl, t)
        ordered = sorted(rows)
        table = np.array([[s, *rows[s]] for s in ordered], dtype=float).reshape(-1, 4)
        return [table[:, i] for i in range(4)]

    train_step, train_loss, train_kl, train_time = merged("train")
    val_step, val_loss, val_kl, val_time = merged("val")
    return Curves(
        label=parts[0].label,
        path=parts[-1].path,
        train_step=train_step,
        train_loss=train_loss,
        train_kl=train_kl,
        train_time=train_time if has_time else None,
        val_step=val_step,
        val_loss=val_loss,
        val_kl=val_kl,
        val_time=val_time if has_time else None,
    )


def plot_curves(
    runs: Sequence[Curves],
    out: str | Path,
    *,
    title: str | None = None,
    ylim_loss: tuple[float, float] | None = None,
) -> Path:
    """Write the 2x2 grid of ``runs`` to the PNG ``out`` (parent folders created); returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=FIGSIZE, dpi=DPI, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = [  # (axes, train y, val y, against time)
        (axes[0, 0], "train_loss", "val_loss", False),
        (axes[0, 1], "train_loss", "val_loss", True),
        (axes[1, 0], "train_kl", "val_kl", False),
        (axes[1, 1], "train_kl", "val_kl", True),
    ]
    for i, run in enumerate(runs):
        color = colors[i % len(colors)]
        for ax, train_y, val_y, against_time in panels:
            if against_time and not run.has_time:
                continue
            train_x = run.train_time / 60 if against_time else run.train_step
            val_x = run.val_time / 60 if against_time else run.val_step
            lone = "." if len(train_x) == 1 else None  # a line of one point is not drawn
            ax.plot(
                train_x, getattr(run, train_y), color=color, lw=0.8, alpha=0.35, marker=lone, label=f"{run.label} train"
            )
            ax.plot(val_x, getattr(run, val_y), color=color, lw=1.8, marker="o", ms=3.5, label=f"{run.label} val")

    for ax, train_y, _, against_time in panels:
        ax.set_xlabel("wall time (minutes)" if against_time else "training step")
        ax.set_ylabel("-ELBO (nats)" if train_y == "train_loss" else "KL (nats)")
        ax.grid(alpha=0.3)
        if train_y == "train_loss" and ylim_loss is not None:
            ax.set_ylim(*ylim_loss)
        if not ax.lines:
            ax.text(0.5, 0.5, f"no {TIME} in these logs", ha="center", va="center", transform=ax.transAxes)
    if axes[0, 0].lines:  # every run is in the step panels: one legend for all
        axes[0, 0].legend(fontsize="small")
    axes[0, 0].set_title("-ELBO against steps")
    axes[0, 1].set_title("-ELBO against wall time")
    axes[1, 0].set_title("KL against steps")
    axes[1, 1].set_title("KL against wall time")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def parse_run(spec: str) -> tuple[str | None, Path]:
    """``LABEL=PATH`` -> (label, path); a bare ``PATH`` (or one that exists as given) -> (None, path)."""
    label, sep, path = spec.partition("=")
    if not sep or Path(spec).exists() or not label or not path:
        return None, Path(spec)
    return label, Path(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Plot -ELBO and KL (train and val) of runs against steps and wall time from their logs "
        "(Lightning CSV, else W&B offline run files)."
    )
    parser.add_argument(
        "paths", nargs="*", type=Path, help="run folders, metrics.csv or .wandb files (labelled by folder)"
    )
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a run folder, metrics.csv or .wandb file with its legend label (repeatable; a label given "
        "again adds a resumed part of the same run, e.g. a run resumed into a new folder)",
    )
    parser.add_argument("--out", required=True, type=Path, help="the PNG to write")
    parser.add_argument("--title", default=None, help="figure title")
    parser.add_argument("--ylim-loss", nargs=2, type=float, metavar=("LO", "HI"), help="y range of the -ELBO panels")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    specs = [(None, p) for p in args.paths] + [parse_run(s) for s in args.run]
    if not specs:
        parser.error("give at least one run: a PATH or --run LABEL=PATH")
    try:
        parts: dict[str, list[Curves]] = {}
        for label, path in specs:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NoWallTimeWarning)
                curves = read_curves(path, label)
                parts.setdefault(curves.label, []).append(curves)
            for warning in caught:
                if issubclass(warning.category, NoWallTimeWarning):
                    print(f"warning: {warning.message}", file=sys.stderr)
                else:
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        runs = [merge_curves(p) for p in parts.values()]
        out = plot_curves(runs, args.out, title=args.title, ylim_loss=args.ylim_loss)
    except CurvesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
