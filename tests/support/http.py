"""Small HTTP servers on loopback: a quiet handler, a server thread, and embeddings servers."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive, no access log; `_send` writes one whole reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as written, as real servers do

    def log_message(self, *args: object) -> None:
        """Silent."""

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers["Content-Length"]))

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def embeddings_reply(request: bytes) -> bytes:
    """An OpenAI-shaped reply to an embeddings request: a 2-d unit vector per input."""
    n = len(json.loads(request)["input"])
    data = [{"object": "embedding", "index": i, "embedding": [0.6, 0.8]} for i in range(n)]
    return json.dumps({"object": "list", "data": data, "usage": {"prompt_tokens": n}}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a sixth user connecting at once waits for a
    # SYN retry, a whole second, and that second lands in the latencies
    request_queue_size = 1024


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` on a free loopback port in a thread: its `http://127.0.0.1:PORT`."""
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


SERVICE_S = 0.009  # the one-at-a-time server's service time: ~100 req/s at most


def _serve_in_order(line: queue.Queue[threading.Event]) -> None:
    while True:
        done = line.get()
        end = time.perf_counter() + SERVICE_S
        while (left := end - time.perf_counter()) > 0:
            time.sleep(left)
        done.set()


class OneAtATime(QuietHandler):
    """An embeddings server whose capacity is known: it serves one request at a time, each for
    SERVICE_S, in the order they arrived (a lock would let some wait far longer than others),
    however many arrive; the others queue."""

    line: queue.Queue[threading.Event] = queue.Queue()
    threading.Thread(target=_serve_in_order, args=(line,), daemon=True).start()

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "one-at-a-time"}]}')

    def do_POST(self) -> None:
        body = embeddings_reply(self._body())
        done = threading.Event()
        self.line.put(done)
        done.wait()
        self._send(200, body)


class Counting(QuietHandler):
    """An embeddings server that answers every request in ~5 ms and notes when it did."""

    served: ClassVar[list[float]] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "counting"}]}')

    def do_POST(self) -> None:
        body = embeddings_reply(self._body())
        time.sleep(0.005)
        self._send(200, body)
        with self.lock:
            self.served.append(time.monotonic())
