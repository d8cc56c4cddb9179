"""Tests marked `gpu` run only where NVML sees a GPU; elsewhere they are skipped with the reason.
And what several tests' small HTTP servers share: a quiet handler and a loopback server thread."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loadtest.gpu import GpuUnavailable, NvmlReader


@functools.cache
def no_gpu_reason() -> str | None:
    """Why this machine has no GPU for NVML to read; None where it has one."""
    try:
        NvmlReader().close()
    except GpuUnavailable as exc:
        return str(exc)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is not None and (reason := no_gpu_reason()):
        pytest.skip(f"needs an NVIDIA GPU: {reason}")


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive, no access log; `_send` writes one whole reply."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Silent."""

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` on a free loopback port in a thread: its `http://127.0.0.1:PORT`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
