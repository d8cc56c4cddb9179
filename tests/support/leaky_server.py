"""An embeddings server that leaks on purpose, for the soak verdicts' tests:
`python -m tests.support.leaky_server --port P --leak-kib K [--dim 32]`.

It speaks the OpenAI embeddings API on 127.0.0.1 (POST /v1/embeddings, GET /v1/models,
GET /health) and keeps K KiB for every embeddings request it answers, every page written so
that its RSS really grows; `--leak-kib 0` keeps nothing. GET /metrics is prometheus_client's
default registry, whose process collector reports `process_resident_memory_bytes` on Linux.
Vectors are unit length and the same for the same text, whatever else a request holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from http.server import ThreadingHTTPServer
from typing import ClassVar

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tests.support.http import QuietHandler

MODEL = "leaky"
PAGE_BYTES = 4096
KEPT: list[bytearray] = []  # what the server leaks: never freed while it runs


def leak(kib: int) -> None:
    """Keep `kib` KiB, writing one byte per page so that the kernel backs every page."""
    if kib <= 0:
        return
    block = bytearray(kib * 1024)
    block[::PAGE_BYTES] = b"\x01" * len(range(0, len(block), PAGE_BYTES))
    KEPT.append(block)  # one append under the GIL: threads need no lock


def embed(text: str, dim: int) -> list[float]:
    """A unit vector seeded by the text's hash: deterministic, finite, and cheap."""
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    vector = np.random.default_rng(seed).standard_normal(dim)
    return [float(x) for x in vector / np.linalg.norm(vector)]


class Leaky(QuietHandler):
    leak_kib: ClassVar[int] = 0
    dim: ClassVar[int] = 32

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, b"{}")
        elif self.path == "/v1/models":
            model = {"id": MODEL, "object": "model", "owned_by": "embload-tests"}
            self._send(200, json.dumps({"object": "list", "data": [model]}).encode())
        elif self.path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        body = self._body()
        if self.path != "/v1/embeddings":
            self._error(404, f"no route {self.path}")
            return
        try:
            request = json.loads(body)
        except ValueError:
            self._error(400, "the body is not JSON")
            return
        texts = request.get("input") if isinstance(request, dict) else None
        texts = [texts] if isinstance(texts, str) else texts
        if not texts or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            self._error(400, "input must be a string or a non-empty list of strings")
            return
        leak(self.leak_kib)
        data = [
            {"object": "embedding", "index": i, "embedding": embed(text, self.dim)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(max(len(text.split()), 1) for text in texts)
        reply = {
            "object": "list",
            "data": data,
            "model": request.get("model") or MODEL,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        self._send(200, json.dumps(reply).encode())

    def _error(self, status: int, message: str) -> None:
        error = {"message": message, "type": "invalid_request_error", "code": status}
        self._send(status, json.dumps({"error": error}).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog of 5 makes a sixth client connecting at once wait a second
    request_queue_size = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--leak-kib", type=int, required=True, help="KiB kept per request")
    parser.add_argument("--dim", type=int, default=32)
    args = parser.parse_args()
    Leaky.leak_kib = args.leak_kib
    Leaky.dim = args.dim
    server = _Server(("127.0.0.1", args.port), Leaky)
    print(f"serving on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
