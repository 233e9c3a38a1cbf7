"""One Quick, Draw! numpy bitmap file (``<category>.npy``, (N, 784) uint8), read row by row.

Rows are fetched with positional reads (``os.pread``) of the .npy data section, so a file of
any size is never loaded whole nor mapped into the process: pages of a memory map count toward
the process's resident memory, which would then grow with every row an epoch touches.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["ROW_BYTES", "SIDE", "BitmapFile", "read_bitmap_header"]

SIDE = 28
ROW_BYTES = SIDE * SIDE
EXPECTED = f"Google's numpy bitmap format: a .npy holding an (N, {ROW_BYTES}) uint8 array"


def read_bitmap_header(path: Path) -> tuple[int, int]:
    """``(data offset, number of rows)`` of a valid bitmap file; raises ValueError naming ``path``."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f".npy format version {version} (1.0 or 2.0 expected)")
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(f)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as err:
        raise ValueError(f"{path} is not a readable .npy file ({err}); expected {EXPECTED}") from err
    if dtype != np.uint8 or len(shape) != 2 or shape[1] != ROW_BYTES or fortran_order:
        order = ", Fortran order" if fortran_order else ""
        raise ValueError(f"{path}: got shape {shape} dtype {dtype}{order}; expected {EXPECTED}")
    expected_size = offset + shape[0] * ROW_BYTES
    size = path.stat().st_size
    if size != expected_size:
        raise ValueError(
            f"{path}: {size} bytes, but its header announces {shape[0]} rows ({expected_size} bytes): "
            f"the file is truncated or corrupt; delete it and provide it again"
        )
    return offset, shape[0]


class BitmapFile:
    """A validated bitmap file; :meth:`read` returns rows as a ``(len(rows), 784)`` uint8 array."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset, self.num_rows = read_bitmap_header(self.path)
        self._fd: int | None = None

    def __len__(self) -> int:
        return self.num_rows

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Rows in the given order; consecutive rows are fetched in one read."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        out = np.empty((len(rows), ROW_BYTES), dtype=np.uint8)
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.diff(sorted_rows, prepend=-2) != 1)
        for begin, end in zip(starts, [*starts[1:], len(rows)], strict=True):
            count = end - begin
            data = os.pread(self._fd, count * ROW_BYTES, self.offset + int(sorted_rows[begin]) * ROW_BYTES)
            if len(data) != count * ROW_BYTES:
                raise ValueError(f"{self.path}: short read at row {sorted_rows[begin]}; the file changed on disk")
            out[order[begin:end]] = np.frombuffer(data, dtype=np.uint8).reshape(count, ROW_BYTES)
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def __getstate__(self) -> dict:
        # worker processes open their own descriptor
        return {**self.__dict__, "_fd": None}
