"""The downloader against a real HTTP server on 127.0.0.1 serving .npy files."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from draw_lightning.data import QuickDrawDataModule
from draw_lightning.data.quickdraw.download import DownloadError, category_url


def npy_bytes(rows: int) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(rows * 784, dtype=np.int64).reshape(rows, 784).astype(np.uint8))
    return buffer.getvalue()


class QuickDrawServer(ThreadingHTTPServer):
    """Serves ``files`` by path; the first ``cut_first`` requests of a path stop half-way."""

    def __init__(self, files: dict[str, bytes], *, cut_first: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = files
        self.cut_first = cut_first
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/numpy_bitmap"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: QuickDrawServer = self.server
        server.requests.append(self.path)
        body = server.files.get(self.path.removeprefix("/numpy_bitmap/"))
        if body is None:
            self.send_error(404, "No such object")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.requests.count(self.path) <= server.cut_first:
            self.wfile.write(body[: len(body) // 2])  # then the connection closes
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    servers = []

    def start(files: dict[str, bytes], **kwargs) -> QuickDrawServer:
        server = QuickDrawServer(files, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def datamodule(tmp_path, url, categories=("cat",)) -> QuickDrawDataModule:
    return QuickDrawDataModule(
        categories=list(categories), data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", download_url=url
    )


def test_complete_download_then_cached(tmp_path, serve):
    body = npy_bytes(50)
    server = serve({"cat.npy": body, "ice%20cream.npy": npy_bytes(20)})
    dm = datamodule(tmp_path, server.url, categories=["cat", "ice cream"])
    dm.prepare_data()
    assert (tmp_path / "data" / "quickdraw" / "cat.npy").read_bytes() == body
    assert sorted(p.name for p in (tmp_path / "data" / "quickdraw").iterdir()) == ["cat.npy", "ice cream.npy"]
    dm.setup()
    assert len(dm.splits["train"]) == 40 + 16
    datamodule(tmp_path, server.url).prepare_data()
    assert len(server.requests) == 2  # the second run used the cached file


def test_cut_transfer_leaves_nothing_and_next_run_downloads_again(tmp_path, serve):
    body = npy_bytes(200)
    server = serve({"cat.npy": body}, cut_first=1)
    with pytest.raises(DownloadError) as err:
        datamodule(tmp_path, server.url).prepare_data()
    message = str(err.value)
    assert "Quick, Draw! category 'cat'" in message and "nothing was saved" in message and "Run again" in message
    assert not list((tmp_path / "data" / "quickdraw").iterdir())  # no file, no .part left
    datamodule(tmp_path, server.url).prepare_data()
    assert (tmp_path / "data" / "quickdraw" / "cat.npy").read_bytes() == body
    assert len(server.requests) == 2


def test_not_found_is_a_clear_error(tmp_path, serve):
    server = serve({})
    with pytest.raises(DownloadError, match=rf"{category_url(server.url, 'cat')} answered HTTP 404"):
        datamodule(tmp_path, server.url).prepare_data()
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("*"))


def test_invalid_body_is_rejected(tmp_path, serve):
    server = serve({"cat.npy": b"<html>quota exceeded</html>"})
    with pytest.raises(DownloadError, match=r"did not deliver a valid bitmap file: .* is not a readable .npy file"):
        datamodule(tmp_path, server.url).prepare_data()
    assert not list((tmp_path / "data" / "quickdraw").iterdir())


def test_read_only_data_dir_downloads_into_cache(tmp_path, serve):
    body = npy_bytes(30)
    server = serve({"cat.npy": body})
    (tmp_path / "data").mkdir()
    (tmp_path / "data").chmod(0o555)
    try:
        dm = datamodule(tmp_path, server.url)
        dm.prepare_data()
        assert (tmp_path / "cache" / "quickdraw" / "cat.npy").read_bytes() == body
        assert not list((tmp_path / "data").iterdir())
    finally:
        (tmp_path / "data").chmod(0o755)
