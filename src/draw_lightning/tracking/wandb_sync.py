"""Upload an offline W&B run that was killed and resumed as one W&B run, each step once.

A run resumed in its folder (``ckpt_path=auto`` or ``last``) continues the same W&B run id, but
offline each start writes its own folder, ``<run>/wandb/offline-run-<time>-<id>/run-<id>.wandb``.
``wandb sync`` given the files of one run id uploads them one after the other in order of start
time, each appending its history to the run (``wandb sync --help``, option ``-n``). Each start
logs from its checkpoint's global step on, though, so the rows an earlier start logged after
that checkpoint (until it was killed) would be uploaded twice. ::

    python -m draw_lightning.tracking.wandb_sync <run folder> [--dry-run] [other wandb sync options]

writes, for every start that a later start resumed, a copy of its file without those rows
(``<run>/wandb/sync/<offline-run folder>/run-<id>.wandb``, whose ``files`` links to the
original's, as logged media are looked up next to the file), and runs ``wandb sync`` on the
copies and the other files; ``--dry-run`` writes the copies and prints the command only.

Which rows: a resumed start's folder holds ``draw_resumed_from.json`` (written by
:class:`~draw_lightning.tracking.WandbRunIdSaver`): the checkpoint's global step ``g``, and the
folder and count of history rows ``n`` when that checkpoint was saved. Rows of that folder with
W&B's ``_step`` >= ``n`` and ``trainer/global_step`` >= ``g`` are dropped, as are rows at step
``g`` or later of any folder started after it (before this one). Without that file (runs from
before it existed) the rows at or past the resumed start's first step are dropped. W&B's
``_step`` of the rows kept is renumbered from 0.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from draw_lightning.tracking.wandb_run import WANDB_RESUMED_FROM_FILE

__all__ = [
    "Segment",
    "parse_record",
    "plan_sync",
    "read_records",
    "records",
    "segments",
    "sync_command",
    "write_records",
]

STEP, COUNT = "trainer/global_step", "_step"
SYNC_FOLDER = "sync"
# W&B's run file (LevelDB's log format, as scripts/plot_curves.py reads it): a header (":W&B",
# magic, version), then 32 KiB blocks of chunks: header (CRC-32 of type byte and data, length,
# type) and data, a whole record or its first, middle or last part; a block's tail too short for a
# chunk header is zero padding. Each record is a serialized ``wandb_internal_pb2.Record``.
HEADER, FILE_ID = struct.Struct("<4sHB"), (b":W&B", 0xBEE1, 0)
CHUNK, BLOCK = struct.Struct("<IHB"), 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(file: Path) -> Iterator[bytes]:
    """The serialized records of a W&B run file, in order; a file ending in part of a record (a
    killed run) ends before it. ValueError for a file that is not one or a failed checksum."""
    data = file.read_bytes()
    if not data:
        return
    if len(data) < HEADER.size or HEADER.unpack_from(data) != FILE_ID:
        raise ValueError(f"{file}: not a W&B run file (no ':W&B' header)")
    offset, parts = HEADER.size, None
    while True:
        left = BLOCK - offset % BLOCK
        if left < CHUNK.size:
            offset += left
        if offset + CHUNK.size > len(data):
            return
        crc, length, kind = CHUNK.unpack_from(data, offset)
        start = offset + CHUNK.size
        if start + length > len(data):
            return
        chunk = data[start : start + length]
        if not FULL <= kind <= LAST or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"{file}: corrupt W&B record at byte {offset}")
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            parts = [chunk]
        elif parts is None:
            raise ValueError(f"{file}: corrupt W&B record at byte {offset} (a part without its first)")
        elif kind == MIDDLE:
            parts.append(chunk)
        else:
            yield b"".join([*parts, chunk])
            parts = None
        offset = start + length


def _chunk(kind: int, data: bytes) -> bytes:
    return CHUNK.pack(zlib.crc32(data, zlib.crc32(bytes([kind]))), len(data), kind) + data


def write_records(file: Path, records: Iterable[bytes]) -> None:
    """Write serialized records as a W&B run file, split into chunks as W&B's writer does."""
    out, offset = [HEADER.pack(*FILE_ID)], HEADER.size
    for record in records:
        left = BLOCK - offset % BLOCK
        if left < CHUNK.size:
            out.append(b"\0" * left)
            offset, left = offset + left, BLOCK
        if len(record) + CHUNK.size <= left:
            parts = [(FULL, record)]
        else:
            room = left - CHUNK.size
            parts, rest = [(FIRST, record[:room])], record[room:]
            room = BLOCK - CHUNK.size
            while len(rest) > room:
                parts.append((MIDDLE, rest[:room]))
                rest = rest[room:]
            parts.append((LAST, rest))
        for kind, data in parts:
            out.append(_chunk(kind, data))
            offset += CHUNK.size + len(data)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"".join(out))


def parse_record(data: bytes):
    """A serialized record as W&B's ``wandb_internal_pb2.Record`` message."""
    from wandb.proto import wandb_internal_pb2

    record = wandb_internal_pb2.Record()
    record.ParseFromString(data)
    return record


def records(file: Path, record_type: str | None = None) -> Iterator:
    """The parsed records of a W&B run file, in order; with ``record_type`` ("run", "history",
    "exit", ...) only those of that type."""
    for data in read_records(file):
        record = parse_record(data)
        if record_type is None or record.WhichOneof("record_type") == record_type:
            yield record


def _item_key(item) -> str:
    return item.key or "/".join(item.nested_key)


def _number(item) -> float | None:
    try:
        value = json.loads(item.value_json)
    except ValueError:
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class Segment:
    """One start of a W&B run: its folder's run file, in order of start time within its run id."""

    file: Path
    run_id: str
    start_time: float
    resumed_from: dict | None = None
    drop: list[tuple[int, float]] = field(default_factory=list)  # (from _step, from global step)

    @property
    def folder(self) -> str:
        return self.file.parent.name

    def history(self) -> Iterator[tuple[float | None, float | None]]:
        """(_step, trainer/global_step) of each history row."""
        for record in records(self.file, "history"):
            values = {_item_key(item): _number(item) for item in record.history.item}
            yield values.get(COUNT), values.get(STEP)

    def dropped(self, count: float | None, step: float | None) -> bool:
        return step is not None and any(count is not None and count >= n and step >= g for n, g in self.drop)


def segments(run_dir: Path) -> list[Segment]:
    """The offline W&B run files of a run folder (or of its ``wandb`` folder), by run id then start time."""
    run_dir = Path(run_dir)
    base = run_dir / "wandb" if (run_dir / "wandb").is_dir() else run_dir
    found = []
    for file in sorted(base.glob("offline-run-*/run-*.wandb")):
        record = next(records(file, "run"), None)
        if record is None:  # killed as W&B started: nothing to upload
            print(f"{file}: no run record, skipped", file=sys.stderr)
            continue
        sidecar = file.parent / WANDB_RESUMED_FROM_FILE
        resumed_from = json.loads(sidecar.read_text()) if sidecar.is_file() else None
        found.append(Segment(file, record.run.run_id, record.run.start_time.ToNanoseconds(), resumed_from))
    return sorted(found, key=lambda s: (s.run_id, s.start_time, s.folder))


def plan_sync(run_dir: Path) -> list[Segment]:
    """The segments of a run folder, each with the history rows to drop (see the module's doc)."""
    found = segments(run_dir)
    for run_id in dict.fromkeys(s.run_id for s in found):
        run = [s for s in found if s.run_id == run_id]
        for j, resumed in enumerate(run[1:], start=1):
            info = resumed.resumed_from
            writer = next((i for i in range(j) if info and run[i].folder == info.get("folder")), None)
            if writer is not None:
                run[writer].drop.append((int(info["rows"]), float(info["global_step"])))
                for later in run[writer + 1 : j]:
                    later.drop.append((0, float(info["global_step"])))
                continue
            first = next((step for _, step in resumed.history() if step is not None), None)
            if first is not None:  # no record of the checkpoint: drop what this start logs again
                for earlier in run[:j]:
                    earlier.drop.append((0, first))
    return found


def trimmed_records(segment: Segment) -> Iterator[bytes]:
    """The records of a segment without its dropped history rows, W&B's ``_step`` renumbered."""
    kept = 0
    for data in read_records(segment.file):
        record = parse_record(data)
        if record.WhichOneof("record_type") != "history":
            yield data
            continue
        items = {_item_key(item): item for item in record.history.item}
        count, step = items.get(COUNT), items.get(STEP)
        if segment.dropped(_number(count) if count is not None else None, _number(step) if step is not None else None):
            continue
        if count is not None:
            count.value_json = str(kept)
        kept += 1
        yield record.SerializeToString()


def sync_files(run_dir: Path) -> list[Path]:
    """Write the trimmed copies of a run folder's W&B run files; the files to pass to ``wandb sync``."""
    run_dir = Path(run_dir)
    files = []
    for segment in plan_sync(run_dir):
        if not segment.drop:
            files.append(segment.file)
            continue
        copy = segment.file.parent.parent / SYNC_FOLDER / segment.folder / segment.file.name
        write_records(copy, trimmed_records(segment))
        link = copy.parent / "files"
        if not link.is_symlink() and (segment.file.parent / "files").is_dir():
            link.symlink_to(Path("..", "..", segment.folder, "files"))
        files.append(copy)
    return files


def sync_command(files: Sequence[Path], extra: Sequence[str] = ()) -> list[str]:
    wandb = Path(sys.executable).with_name("wandb")
    return [str(wandb) if wandb.is_file() else (shutil.which("wandb") or "wandb"), "sync", *map(str, files), *extra]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m draw_lightning.tracking.wandb_sync",
        description="Upload the offline W&B runs of a run folder, a killed and resumed run as one run with each "
        "step once. Other options go to `wandb sync` (e.g. -p PROJECT -e ENTITY).",
    )
    parser.add_argument("run_dir", type=Path, help="run folder (holding wandb/offline-run-*) or its wandb folder")
    parser.add_argument("--dry-run", action="store_true", help="write the trimmed copies, print the command only")
    args, extra = parser.parse_known_args(argv)
    files = sync_files(args.run_dir)
    if not files:
        print(f"{args.run_dir}: no offline W&B runs (wandb/offline-run-*/run-*.wandb)", file=sys.stderr)
        return 1
    command = sync_command(files, extra)
    print(shlex.join(command))
    if args.dry_run:
        return 0
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
