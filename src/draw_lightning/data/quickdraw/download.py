"""Downloading a Quick, Draw! bitmap file: to a temporary file, renamed only once complete and valid."""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from draw_lightning.data.quickdraw.bitmaps import read_bitmap_header

__all__ = ["QUICKDRAW_URL", "DownloadError", "category_url", "download_bitmaps"]

# Google's public bucket (gs://quickdraw_dataset/full/numpy_bitmap) over HTTPS.
QUICKDRAW_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap"
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """The server was reached but the file could not be fetched whole."""


def category_url(base_url: str, category: str) -> str:
    """URL of ``<category>.npy`` under ``base_url`` (names like "ice cream" are percent-encoded)."""
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(category)}.npy"


def download_bitmaps(url: str, target: Path, *, timeout: float = 30.0, progress: bool = True) -> Path:
    """Fetch ``url`` into ``target`` atomically; nothing is left at ``target`` unless it is complete.

    Raises :class:`DownloadError` for an HTTP error status, a cut transfer or an invalid file,
    ``urllib.error.URLError`` (an OSError) when the server cannot be reached.
    """
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url} answered HTTP {err.code} ({err.reason})") from err
    with response:
        expected = int(response.headers.get("Content-Length") or 0) or None
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            received = _copy(response, fd, expected=expected, name=target.name, progress=progress)
            if expected is not None and received != expected:
                raise DownloadError(f"{url}: transfer cut after {received} of {expected} bytes")
            try:
                read_bitmap_header(tmp)
            except ValueError as err:
                raise DownloadError(f"{url} did not deliver a valid bitmap file: {err}") from err
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def _copy(response, fd: int, *, expected: int | None, name: str, progress: bool) -> int:
    """Stream ``response`` into ``fd`` with a progress bar; return the bytes received."""
    received = 0
    with (
        os.fdopen(fd, "wb") as out,
        tqdm(total=expected, unit="B", unit_scale=True, desc=f"downloading {name}", disable=not progress) as bar,
    ):
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
                raise DownloadError(f"transfer of {name} cut after {received} bytes ({err!r})") from err
            if not chunk:
                return received
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
