"""Servers for end-to-end tests: `embload serve` started and healthy, and one that misbehaves."""

from __future__ import annotations

import contextlib
import json
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.http import QuietHandler, free_port


def wait_healthy(
    proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float = 180
) -> None:
    """Until `url` answers 200; an error with the log's tail if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy in {timeout_s} s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def bundled_server(log: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`embload serve` on a free loopback port with `args`: its process and base URL, healthy."""
    port = free_port()
    cmd = [sys.executable, "-m", "loadtest.cli", "serve", "--port", str(port), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(proc, f"http://127.0.0.1:{port}/health", log)
        yield proc, f"http://127.0.0.1:{port}/v1"
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)


# What the misbehaving server does with request n (cycling), and the kind each must be recorded as.
BEHAVIOURS = [
    ("ok", None),
    ("bad_request", "http_4xx"),
    ("server_error", "http_5xx"),
    ("oom", "oom"),
    ("rate_limited", "rate_limited"),
    ("slow", "timeout"),
    ("hang_up", "connection"),
    ("not_json", "invalid_response"),
    ("wrong_count", "invalid_response"),
    ("nan", "invalid_vector"),
    ("short_vector", "invalid_vector"),
]
SLOW_S = 1.5


class Misbehaving(QuietHandler):
    """An OpenAI-shaped server that answers request n as BEHAVIOURS[n] says (cycling)."""

    counter = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        self._send(200, json.dumps({"object": "list", "data": [{"id": "misbehaving"}]}).encode())

    def do_POST(self) -> None:
        n_inputs = len(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"])
        with self.lock:
            behaviour = BEHAVIOURS[Misbehaving.counter % len(BEHAVIOURS)][0]
            Misbehaving.counter += 1

        def vectors(dim: int, value: float = 0.5, count: int = n_inputs) -> bytes:
            data = [
                {"object": "embedding", "index": i, "embedding": [value] * dim}
                for i in range(count)
            ]
            return json.dumps(
                {"object": "list", "data": data, "usage": {"prompt_tokens": 3}}
            ).encode()

        match behaviour:
            case "ok":
                self._send(200, vectors(8))
            case "bad_request":
                self._send(400, b'{"error": {"message": "input must not be empty"}}')
            case "server_error":
                self._send(500, b"Internal Server Error", "text/plain")
            case "oom":
                self._send(
                    500,
                    b'{"error": {"message": "CUDA out of memory. Tried to allocate 20.00 MiB"}}',
                )
            case "rate_limited":
                self._send(429, b'{"error": "Model is overloaded"}')
            case "slow":
                time.sleep(SLOW_S)
                with contextlib.suppress(OSError):  # the client gave up first
                    self._send(200, vectors(8))
            case "hang_up":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            case "not_json":
                self._send(200, b"<html>gateway says hi</html>", "text/html")
            case "wrong_count":
                self._send(200, vectors(8, count=n_inputs + 1))
            case "nan":
                self._send(200, vectors(8, value=math.nan))  # json.dumps writes NaN
            case "short_vector":
                self._send(200, vectors(4))


leaky_pids: dict[str, int] = {}  # a leaky server's base URL -> its PID


@contextlib.contextmanager
def leaky_server(leak_kib: int) -> Iterator[str]:
    """tests/support/leaky_server.py in its own process on a free port, answering /health: its
    base URL (`leaky_server.pid` holds its PID while it runs)."""
    port = free_port()
    cmd = [sys.executable, "-m", "tests.support.leaky_server", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--leak-kib", str(leak_kib)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    leaky_pids[url] = proc.pid
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()[0].decode()
            assert time.monotonic() < deadline, "the leaky server did not start"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        assert proc.stdout is not None
        assert f"serving on {url}" in proc.stdout.read().decode()
        proc.stdout.close()
