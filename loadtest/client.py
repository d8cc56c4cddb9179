"""The one embeddings client: where a target's embeddings live, the request bytes and headers,
the check of every reply, its vectors.

Only the OpenAI `/v1/embeddings` dialect for now. The load path (geventhttpclient under Locust)
calls `encode_request`, `request_headers` and `check_reply` and does its own sending;
`EmbeddingsClient` (httpx) serves everything else with the same pieces: model lookup, health,
the quality probe, the bundled server's start.

`check_reply` runs once per request on the generator's core, so a well-formed reply takes the
fast road: simdjson validates the whole document (it refuses NaN, Infinity and overflowing
numbers) and hands each vector over as one float64 buffer, never as 1,024 Python floats;
base64 vectors are decoded by pybase64 (SIMD; the standard library's takes 20x longer).
Anything unusual falls back to the lenient standard parser, which finds the exact fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
import pybase64
import simdjson
from pydantic import BaseModel, ValidationError

from loadtest.core.errors import classify_status
from loadtest.core.results import ModelCard
from loadtest.core.types import ErrorKind
from loadtest.core.wire import (
    NotFloat32,
    ReplyCheck,
    check_embedding_reply,
    check_vectors,
    embedding_request,
    failure,
)


@dataclass(frozen=True, slots=True)
class Target:
    """An OpenAI-style base URL split the way Locust wants it: bare host, then a path prefix."""

    host: str  # scheme://host:port, Locust's --host
    prefix: str  # "/v1" unless the URL names another

    @property
    def base_url(self) -> str:
        return self.host + self.prefix

    @property
    def embeddings_path(self) -> str:
        return self.prefix + "/embeddings"


def parse_target(url: str) -> Target:
    """`http://h:p/v1` (as the openai SDK's base_url) or a bare `http://h:p` (meaning /v1)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"target {url!r} is not an http(s) URL like http://127.0.0.1:30000/v1")
    prefix = parts.path.rstrip("/")
    if prefix.endswith("/embeddings"):
        prefix = prefix[: -len("/embeddings")]
    return Target(host=f"{parts.scheme}://{parts.netloc}", prefix=prefix or "/v1")


def encode_request(
    texts: list[str],
    model: str | None,
    encoding_format: str = "float",
    dimensions: int | None = None,
) -> bytes:
    return orjson.dumps(embedding_request(texts, model, encoding_format, dimensions))


def request_headers(api_key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers of every embeddings request: the user's extras, JSON, the bearer token."""
    return {
        **(extra or {}),
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
    }


def decode_vector(text: str) -> np.ndarray:
    """A base64 string of little-endian float32s (OpenAI's `encoding_format=base64`), as float32.

    The one decoder: replies on the load path, the probe's, and vectors.jsonl. pybase64 is SIMD;
    the standard library's takes 14x longer on a 1024-d vector."""
    raw = pybase64.b64decode(text, validate=True)  # ValueError (binascii.Error) if not base64
    if len(raw) % 4:
        raise NotFloat32(f"is {len(raw)} bytes, not float32s")
    return np.frombuffer(raw, dtype="<f4")


def encode_vector(vector: np.ndarray) -> str:
    return pybase64.b64encode(vector.astype("<f4").tobytes()).decode()


def check_reply(status: int, body: bytes, n_inputs: int, expected_dim: int | None) -> ReplyCheck:
    """Status, JSON, one finite vector per input, one dimension: the verdict on a reply."""
    if not 200 <= status < 300:
        kind, message = classify_status(status, body)
        if kind is not None and message is not None:  # set together for every non-2xx
            return failure(kind, message)
    parts = _read_fast(body)
    if parts is not None:
        return check_vectors(*parts, n_inputs, expected_dim, decode_vector)
    # The lenient parser reads NaN and Infinity, so a bad vector is told from bad JSON.
    try:
        doc = json.loads(body)
    except ValueError:
        return failure(ErrorKind.INVALID_RESPONSE, "reply is not JSON")
    return check_embedding_reply(doc, n_inputs, expected_dim, decode_vector)


def reply_vectors(body: bytes) -> list[np.ndarray]:
    """The vectors of a reply `check_reply` passed, in input order, as float64."""
    parts = _read_fast(body)
    if parts is None:
        doc = json.loads(body)
        rows = sorted(doc["data"], key=lambda d: d.get("index", 0))
        return [
            decode_vector(e).astype(np.float64) if isinstance(e, str) else np.asarray(e, float)
            for e in (r["embedding"] for r in rows)
        ]
    vectors, indices, _ = parts
    order = sorted(range(len(vectors)), key=lambda i: indices[i])  # type: ignore[arg-type,return-value]
    return [vectors[i].astype(np.float64) for i in order]


_parser = simdjson.Parser()


def _parse_strict(body: bytes) -> Any:
    """simdjson's document, or ValueError. One parser is reused: a fresh one per reply costs
    a buffer allocation, measurable under load."""
    global _parser  # noqa: PLW0603
    try:
        return _parser.parse(body)
    except RuntimeError:  # a document from an earlier reply is still referenced somewhere
        _parser = simdjson.Parser()
        return _parser.parse(body)


def _read_fast(body: bytes) -> tuple[list[np.ndarray], list[object], object] | None:
    """(vectors as numpy arrays, their `index` fields, usage.prompt_tokens); None if unusual."""
    try:
        doc = _parse_strict(body)
    except ValueError:  # not strict JSON, NaN and Infinity included
        return None
    data = doc.get("data") if isinstance(doc, simdjson.Object) else None
    if not isinstance(data, simdjson.Array):
        return None
    vectors: list[np.ndarray] = []
    indices: list[object] = []
    lists = 0
    for i, item in enumerate(data):
        if not isinstance(item, simdjson.Object):
            return None
        embedding = item.get("embedding")
        if isinstance(embedding, simdjson.Array):
            try:
                vectors.append(np.frombuffer(embedding.as_buffer(of_type="d"), dtype=np.float64))
            except TypeError:  # an element that is not a number
                return None
            lists += 1
        elif isinstance(embedding, str):
            try:
                vectors.append(decode_vector(embedding))
            except ValueError:  # NotFloat32 too: the lenient path names the fault
                return None
        else:
            return None
        indices.append(item.get("index", i))
    # as_buffer flattens nested arrays: only `data` and the vectors may open one.
    if _count_brackets(body, 2 + lists) != 1 + lists:
        return None
    usage = doc.get("usage")
    return (
        vectors,
        indices,
        usage.get("prompt_tokens") if isinstance(usage, simdjson.Object) else None,
    )


def _count_brackets(body: bytes, most: int) -> int:
    """How many `[` the body holds, counting no further than `most`.

    A few memchr calls (bytes.find) are several times faster than bytes.count on 20 KB.
    """
    n, at = 0, body.find(b"[")
    while at >= 0 and n < most:
        n += 1
        at = body.find(b"[", at + 1)
    return n


class _ModelList(BaseModel):
    data: list[ModelCard]


class TargetUnreachable(Exception):
    """Nothing answered at the target: refused, unresolvable, or timed out."""


class EmbeddingFailed(Exception):
    """A request off the load path that did not pass `check_reply`; `kind` says how."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Health(NamedTuple):
    up: bool  # a 2xx
    detail: str  # "HTTP 200", "HTTP 404" (no such route), "ConnectError: ..."
    doc: dict[str, Any]  # the reply's JSON object, {} when it has none


class EmbeddingsClient:
    """httpx against one target, for everything off the load path.

    httpx's pool costs grow with its connections squared (shared/notes/measured.md), which is
    why the load itself never goes through here; a probe's burst of 64 does, once.
    """

    def __init__(
        self,
        target: Target,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
        connections: int = 64,
    ) -> None:
        self.target = target
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._http = httpx.Client(
            headers=request_headers(api_key, headers), timeout=timeout_s, limits=limits
        )

    def __enter__(self) -> EmbeddingsClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, url: str, timeout_s: float) -> httpx.Response:
        try:
            return self._http.get(url, timeout=timeout_s)
        except (httpx.ConnectError, httpx.TimeoutException) as exc:
            raise TargetUnreachable(
                f"nothing is answering at {self.target.base_url}: {type(exc).__name__}"
            ) from None

    def models(self, timeout_s: float = 5.0) -> list[ModelCard]:
        """`GET {base}/models`; [] when the server has no such route or shape."""
        reply = self._get(self.target.base_url + "/models", timeout_s)
        if reply.status_code != 200:
            return []
        try:
            return _ModelList.model_validate_json(reply.content).data
        except ValidationError:
            return []

    def model_card(self, name: str | None) -> ModelCard | None:
        """The card of model `name`, or of the first listed when no name is given."""
        cards = self.models()
        if name is None:
            return cards[0] if cards else None
        return next((card for card in cards if card.id == name), None)

    def health(self, path: str = "/health", timeout_s: float = 1.0) -> Health:
        """Whether the server's health route says it is up, and what showed it."""
        try:
            reply = self._http.get(self.target.host + path, timeout=timeout_s)
        except httpx.HTTPError as exc:
            return Health(False, f"{type(exc).__name__}: {exc}", {})
        try:
            doc = reply.json()
        except ValueError:
            doc = None
        status = reply.status_code
        return Health(200 <= status < 300, f"HTTP {status}", doc if isinstance(doc, dict) else {})

    def embed(
        self,
        texts: list[str],
        model: str | None,
        encoding_format: str = "base64",
        dimensions: int | None = None,
    ) -> list[np.ndarray]:
        """One request, checked as the load path checks replies; its vectors in input order."""
        body = encode_request(texts, model, encoding_format, dimensions)
        url = self.target.base_url + "/embeddings"
        try:
            reply = self._http.post(url, content=body)
        except httpx.HTTPError as exc:
            raise EmbeddingFailed(ErrorKind.CONNECTION, f"{url}: {type(exc).__name__}") from None
        check = check_reply(reply.status_code, reply.content, len(texts), dimensions)
        if check.error is not None:
            raise EmbeddingFailed(check.error, f"{url}: {check.message}")
        return reply_vectors(reply.content)

    def embed_each(
        self, texts: list[str], model: str | None, concurrency: int = 64
    ) -> list[np.ndarray]:
        """Each text in a request of its own, `concurrency` in flight at once; input order."""
        with ThreadPoolExecutor(concurrency, thread_name_prefix="embload-burst") as pool:
            return [v[0] for v in pool.map(lambda t: self.embed([t], model), texts)]
