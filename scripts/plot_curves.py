"""Training curves of DRAW runs from their own Lightning CSV logs, as one PNG.

Usage (runs trained with ``logger=csv``; a run folder, or its ``csv/metrics.csv``):
    python scripts/plot_curves.py --run attn=/tmp/runs/mnist_attn --run noattn=/tmp/runs/mnist_noattn \
        --out docs/results/binarized_mnist_curves.png --title "binarized MNIST" --ylim-loss 80 140

A 2x2 grid: -ELBO (train and val) against training steps and against wall time (minutes), then KL
the same way. Each run has one colour; train is a thin, faint line, val a solid line with markers.
Wall time is ``time/elapsed_s`` (the ``WallClock`` callback), logged with the training metrics;
a validation's time is interpolated from the training rows by step. A file without that column
draws only the step panels (with a warning). Exit code 2 for a missing or unreadable log.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STEP, TIME = "step", "time/elapsed_s"
TRAIN_LOSS, TRAIN_KL = "train/loss", "train/kl"
VAL_LOSS, VAL_KL = "val/loss", "val/kl"
# Size of the written PNG: FIGSIZE inches at DPI dots per inch.
FIGSIZE = (12.0, 8.0)
DPI = 100


class CurvesError(Exception):
    """A metrics file that is missing or is not a Lightning CSV log of a training run."""


class NoWallTimeWarning(UserWarning):
    """A metrics file without ``time/elapsed_s``: only the panels against steps are drawn."""


@dataclass
class Curves:
    """The curves of one run. Times in seconds; ``None`` when the log has no wall time."""

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


def metrics_path(path: str | Path) -> Path:
    """The metrics.csv of a run folder (``<run>/csv/metrics.csv``, or ``<run>/metrics.csv``), or
    ``path`` itself when it is a file; :class:`CurvesError` when there is none."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "csv" / "metrics.csv", path / "metrics.csv"):
            if candidate.is_file():
                return candidate
        raise CurvesError(
            f"{path}: no metrics file in this run folder (expected {path / 'csv' / 'metrics.csv'}, "
            "written by a run trained with logger=csv)"
        )
    if not path.is_file():
        raise CurvesError(
            f"{path}: metrics file not found (expected a run folder with csv/metrics.csv, or a metrics.csv path)"
        )
    return path


def default_label(path: Path) -> str:
    """A run's name: its folder (``<run>/csv/metrics.csv`` -> ``<run>``)."""
    if path.is_dir():
        return path.resolve().name
    parent = path.resolve().parent
    return parent.parent.name if parent.name == "csv" else parent.name


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


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


def read_curves(path: str | Path, label: str | None = None) -> Curves:
    """Parse a Lightning CSVLogger ``metrics.csv`` (or a run folder holding one) of ``draw_lightning.train``.

    Training rows are those with ``train/loss``; validation rows those with ``val/loss``. Warns
    (:class:`NoWallTimeWarning`) when there is no ``time/elapsed_s``; raises :class:`CurvesError`
    for a missing file or one without ``step`` and ``train/loss`` columns.
    """
    given = Path(path)
    file = metrics_path(given)
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
        why = f"no {TIME!r} column" if TIME not in columns else f"no value in its {TIME!r} column"
        warnings.warn(
            f"{file}: {why} (logged by the WallClock callback); drawing only the panels against steps for this run",
            NoWallTimeWarning,
            stacklevel=2,
        )
    return Curves(
        label=label if label is not None else default_label(given),
        path=file,
        train_step=train_step,
        train_loss=train_loss,
        train_kl=train_kl,
        train_time=train_time,
        val_step=val_step,
        val_loss=val_loss,
        val_kl=val_kl,
        val_time=val_time,
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
        description="Plot -ELBO and KL (train and val) of runs against steps and wall time from their CSV logs."
    )
    parser.add_argument("paths", nargs="*", type=Path, help="run folders or metrics.csv files (labelled by folder)")
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a run folder or metrics.csv with its legend label (repeatable)",
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
        runs = []
        for label, path in specs:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NoWallTimeWarning)
                runs.append(read_curves(path, label))
            for warning in caught:
                if issubclass(warning.category, NoWallTimeWarning):
                    print(f"warning: {warning.message}", file=sys.stderr)
                else:
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        out = plot_curves(runs, args.out, title=args.title, ylim_loss=args.ylim_loss)
    except CurvesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
