"""Small servers that speak each embeddings API as its published reference describes it.

Each serves only its own routes and answers anything else the way that server does (FastAPI's
`{"detail": "Not Found"}`, axum's empty 404, Go's `404 page not found`), and counts the
requests it got, so a test can tell how many a preflight spent.

- Infinity (infinity-emb at its defaults): OpenAI's shape at `/embeddings`, `/models`.
- TEI: `POST /embed` -> a list of vectors, with its x-*-time headers (ms); 422 over 32 inputs.
- Ollama: `POST /api/embed` -> `{"embeddings", "prompt_eval_count"}`; an unknown model is a
  404 `{"error": "model ... not found ..."}`.
- Cohere v2: `POST /v2/embed` with a bearer token -> `{"embeddings": {"float": [...]}, ...}`.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from tests.support.http import QuietHandler

MODEL = "tiny-embed"
KEY = "co-test-key"


def vector(text: str) -> list[float]:
    """A unit 4-d vector that depends on the text."""
    h = sum(map(ord, text)) % 97 + 1
    raw = [float(h), float(h % 7 + 1), float(h % 5 + 1), 1.0]
    norm = sum(v * v for v in raw) ** 0.5
    return [v / norm for v in raw]


class _Counting(QuietHandler):
    """Counts every request, route or not."""

    hits: ClassVar[list[str]]
    lock = threading.Lock()

    def _count(self) -> None:
        with self.lock:
            self.hits.append(f"{self.command} {self.path}")

    def _body(self) -> Any:
        return json.loads(self.raw or b"{}")

    def _json(self, status: int, doc: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._count()
        self._get()

    def do_POST(self) -> None:
        self._count()
        # read whether or not it is used: what is left unread would be the next "request"
        self.raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._post()

    def _get(self) -> None:
        self._not_found()

    def _post(self) -> None:
        self._not_found()

    def _not_found(self) -> None:
        self._send(404, b"")


class Infinity(_Counting):
    hits: ClassVar[list[str]] = []

    def _not_found(self) -> None:
        self._json(404, {"detail": "Not Found"})

    def _get(self) -> None:
        if self.path == "/models":
            self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        elif self.path == "/health":
            self._json(200, {"unix": 0.0})
        else:
            self._not_found()

    def _post(self) -> None:
        if self.path != "/embeddings":
            return self._not_found()
        texts = self._body()["input"]
        data = [
            {"object": "embedding", "embedding": vector(t), "index": i} for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": sum(len(t.split()) for t in texts)}
        self._json(200, {"object": "list", "data": data, "model": MODEL, "usage": usage})


class Tei(_Counting):
    hits: ClassVar[list[str]] = []
    QUEUE_MS = 3  # what this server says each request waited in its queue

    def _get(self) -> None:
        if self.path == "/info":
            self._json(200, {"model_id": MODEL, "max_client_batch_size": 32})
        elif self.path == "/metrics":  # a few of TEI's own, in Prometheus' text format
            served = sum(h == "POST /embed" for h in self.hits)
            text = (
                "# TYPE te_queue_size gauge\nte_queue_size 2\n"
                "# TYPE te_batch_current_size gauge\nte_batch_current_size 4\n"
                "# TYPE te_request_count counter\n"
                f'te_request_count{{method="embed"}} {served}\n'
                "# TYPE te_request_duration histogram\n"
                'te_request_duration_bucket{le="0.01"} 1\nte_request_duration_bucket{le="+Inf"} 1\n'
                "te_request_duration_sum 0.006\nte_request_duration_count 1\n"
            )
            self._send(200, text.encode(), "text/plain; version=0.0.4")
        elif self.path == "/health":
            self._send(200, b"")
        else:
            self._not_found()

    def _post(self) -> None:
        if self.path != "/embed":
            return self._not_found()
        doc = self._body()
        if not isinstance(doc.get("normalize", True), bool):
            return self._json(422, {"error": "normalize: not a bool", "error_type": "Validation"})
        inputs = doc["inputs"]
        texts = [inputs] if isinstance(inputs, str) else inputs
        if len(texts) > 32:
            msg = f"batch size {len(texts)} > maximum allowed batch size 32"
            return self._json(422, {"error": msg, "error_type": "Validation"})
        times = {"x-queue-time": self.QUEUE_MS, "x-tokenization-time": 1, "x-inference-time": 2}
        headers = {k: str(v) for k, v in times.items()}
        headers["x-total-time"] = str(sum(times.values()))
        self._json(200, [vector(t) for t in texts], headers)


class Ollama(_Counting):
    hits: ClassVar[list[str]] = []

    def _not_found(self) -> None:
        self._send(404, b"404 page not found", "text/plain")

    def _get(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": MODEL, "model": MODEL}]})
        else:
            self._not_found()

    def _post(self) -> None:
        if self.path != "/api/embed":
            return self._not_found()
        doc = self._body()
        if doc.get("model") != MODEL:
            msg = f'model "{doc.get("model")}" not found, try pulling it first'
            return self._json(404, {"error": msg})
        texts = doc["input"]
        texts = [texts] if isinstance(texts, str) else texts
        count = sum(len(t.split()) for t in texts)
        self._json(
            200,
            {"model": MODEL, "embeddings": [vector(t) for t in texts], "prompt_eval_count": count},
        )


class Cohere(_Counting):
    hits: ClassVar[list[str]] = []

    def _post(self) -> None:
        if self.path != "/v2/embed":
            return self._not_found()
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._json(401, {"id": "x", "message": "invalid api token"})
        doc = self._body()
        texts = doc["texts"]
        reply = {
            "id": "5807ee2e",
            "embeddings": {"float": [vector(t) for t in texts]},
            "texts": texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": len(texts)}},
            "response_type": "embeddings_by_type",
        }
        self._json(200, reply)


class NoRoute(_Counting):
    """A web server with no embeddings route at all."""

    hits: ClassVar[list[str]] = []

    def _not_found(self) -> None:
        self._json(404, {"detail": "Not Found"})


class OpenAICloud(Infinity):
    """OpenAI's own API at /v1/embeddings: every other request refused with its 429, whose
    headers say what the limit is."""

    hits: ClassVar[list[str]] = []
    LIMIT_HEADERS: ClassVar[dict[str, str]] = {
        "retry-after": "1",
        "x-ratelimit-limit-requests": "3000",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "20ms",
        "x-ratelimit-remaining-tokens": "999000",
        "x-ratelimit-reset-tokens": "60ms",
    }

    def _post(self) -> None:
        if self.path != "/v1/embeddings":
            return self._not_found()
        if sum(h.startswith("POST") for h in self.hits) % 2 == 0:
            error = {
                "message": "Rate limit reached for text-embedding-3-small on requests per min",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
            return self._json(429, {"error": error}, self.LIMIT_HEADERS)
        self.path = "/embeddings"
        super()._post()
