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
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import orjson
import pybase64
import simdjson
from pydantic import BaseModel, ValidationError

from loadtest.core.dialects import (
    DEFAULT_PREFIX,
    SPECS,
    Dialect,
    ReplyShape,
    request_body,
    route_dialect,
)
from loadtest.core.errors import classify_status
from loadtest.core.results import ModelCard
from loadtest.core.types import ErrorKind
from loadtest.core.wire import (
    NotFloat32,
    ReplyCheck,
    check_embedding_reply,
    check_vectors,
    failure,
    locate,
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a target's embeddings live: the bare host (Locust's --host), the prefix its other
    routes share (`/v1`: `/v1/models`), its embeddings route and the dialect spoken there."""

    host: str  # scheme://host:port
    prefix: str  # "/v1", "" (no prefix), "/api" (ollama)
    dialect: Dialect = "openai"
    probe: bool = False  # a bare http://h:p: the route is found by asking (EmbeddingsClient.find)

    @property
    def base_url(self) -> str:
        return self.host + self.prefix

    @property
    def embeddings_path(self) -> str:
        return self.prefix + SPECS[self.dialect].route

    @property
    def url(self) -> str:
        """The embeddings route's URL: what an explicit --target names."""
        return self.host + self.embeddings_path


def redact(url: str) -> str:
    """`url` as written or shown anywhere: without the user:password a URL may carry."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def parse_target(url: str, dialect: Dialect | None = None) -> Target:
    """A target URL as users give it. `http://h:p/v1` (the openai SDK's base_url) and
    `http://h:p/v1/embeddings` are the same route; `http://h:p/` means no prefix; a path that
    ends in a dialect's route (`/embed`, `/api/embed`, `/v2/embed`) speaks that dialect. A bare
    `http://h:p` is `/v1/embeddings` until `EmbeddingsClient.find` asks the server, unless
    `dialect` says which. An explicit path is kept as given."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"target {url!r} is not an http(s) URL like http://127.0.0.1:30000/v1")
    host = f"{parts.scheme}://{parts.netloc}"
    if not parts.path:
        if dialect is None:
            return Target(host, DEFAULT_PREFIX["openai"], "openai", probe=True)
        return Target(host, DEFAULT_PREFIX[dialect], dialect)
    path = parts.path.rstrip("/")
    named = route_dialect(path)
    if named is not None:
        prefix, spoken = named
        if dialect is not None and SPECS[dialect].route != SPECS[spoken].route:
            raise ValueError(
                f"target {url!r} names a {spoken} route but --dialect is {dialect}: "
                "drop one, or give the server's base URL"
            )
        return Target(host, prefix, dialect or spoken)  # /embeddings is Infinity's if asked
    return Target(host, path, dialect or "openai")


def encode_request(
    texts: list[str],
    model: str | None,
    encoding_format: str = "float",
    dimensions: int | None = None,
    dialect: Dialect = "openai",
) -> bytes:
    return orjson.dumps(request_body(dialect, texts, model, encoding_format, dimensions))


def request_headers(api_key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers of every embeddings request: the user's extras, JSON, the bearer token."""
    return {
        **(extra or {}),
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
    }


SERVER_CLOCK = ("x-queue-time", "x-tokenization-time", "x-inference-time", "x-total-time")


def server_clock(header: Callable[[str], object]) -> tuple[float, float, float, float] | None:
    """TEI's timing headers (milliseconds; the bundled server sends them too) in seconds:
    queue, tokenization, inference, total. None without `x-total-time` or with a garbled one."""
    if header("x-total-time") is None:
        return None
    try:
        q, t, i, total = (float(str(header(name) or 0)) / 1000 for name in SERVER_CLOCK)
    except ValueError:
        return None
    return q, t, i, total


_RATE_LIMITS = (
    ("retry-after", "retry after {} s"),
    ("x-ratelimit-remaining-requests", "requests left {}"),
    ("x-ratelimit-reset-requests", "requests reset in {}"),
    ("x-ratelimit-remaining-tokens", "tokens left {}"),
    ("x-ratelimit-reset-tokens", "tokens reset in {}"),
)


def rate_limit_note(header: Callable[[str], object]) -> str:
    """What a 429's headers say about the limit (OpenAI's x-ratelimit-*, Retry-After), as a
    suffix for its error message: " (retry after 2 s, requests left 0, ...)" or ""."""
    said = [text.format(value) for name, text in _RATE_LIMITS if (value := header(name))]
    return f" ({', '.join(said)})" if said else ""


def status_note(status: int, header: Callable[[str], object]) -> str:
    """What a failed reply's headers add to its message: a 429's limit, a redirect's goal."""
    if status == 429:
        return rate_limit_note(header)
    if 300 <= status < 400:
        where = header("location") or "nowhere"
        return (
            f" (redirects to {where}: embload does not follow redirects; give that URL as "
            "the target)"
        )
    return ""


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


_OPENAI = SPECS["openai"].shape


def check_reply(
    status: int,
    body: bytes,
    n_inputs: int,
    expected_dim: int | None,
    shape: ReplyShape = _OPENAI,
) -> ReplyCheck:
    """Status, JSON, one finite vector per input, one dimension: the verdict on a reply."""
    if not 200 <= status < 300:
        kind, message = classify_status(status, body)
        if kind is not None and message is not None:  # set together for every non-2xx
            return failure(kind, message)
    parts = _read_fast(body, shape)
    if parts is not None:
        return check_vectors(*parts, n_inputs, expected_dim, decode_vector)
    # The lenient parser reads NaN and Infinity, so a bad vector is told from bad JSON.
    try:
        doc = json.loads(body)
    except ValueError:
        return failure(ErrorKind.INVALID_RESPONSE, "reply is not JSON")
    return check_embedding_reply(doc, n_inputs, expected_dim, decode_vector, shape)


def reply_vectors(body: bytes, shape: ReplyShape = _OPENAI) -> list[np.ndarray]:
    """The vectors of a reply `check_reply` passed, in input order, as float64."""
    parts = _read_fast(body, shape)
    if parts is not None:
        vectors, indices = parts[0], parts[1]
    else:
        found = locate(json.loads(body), shape)
        assert not isinstance(found, str), found
        indices = found[1]
        vectors = [
            decode_vector(e) if isinstance(e, str) else np.asarray(e, float) for e in found[0]
        ]
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


def _read_fast(
    body: bytes, shape: ReplyShape = _OPENAI
) -> tuple[list[np.ndarray], list[object], object] | None:
    """(vectors as numpy arrays, their `index` fields, the token count); None if unusual."""
    try:
        doc = _parse_strict(body)
    except ValueError:  # not strict JSON, NaN and Infinity included
        return None
    found = locate(doc, shape)
    if isinstance(found, str):
        return None
    embeddings, indices, tokens = found
    vectors: list[np.ndarray] = []
    lists = 0
    for embedding in embeddings:
        if isinstance(embedding, simdjson.Array):
            try:
                vector = np.frombuffer(embedding.as_buffer(of_type="d"), dtype=np.float64)
            except TypeError:  # an element that is not a number
                return None
            vectors.append(vector)
            lists += 1
        elif isinstance(embedding, str):
            try:
                vectors.append(decode_vector(embedding))
            except ValueError:  # NotFloat32 too: the lenient path names the fault
                return None
        else:
            return None
    # as_buffer flattens nested arrays: a well-formed reply opens no more than its shape says
    # (a '[' inside a string, as Cohere's echoed texts may hold, takes the lenient road).
    expected = shape.arrays + lists
    if _count_brackets(body, expected + 1) != expected:
        return None
    return vectors, indices, tokens


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

    def post(self, url: str, body: bytes, timeout_s: float) -> httpx.Response:
        """One POST of a request body; httpx's errors are the caller's to name."""
        return self._http.post(url, content=body, timeout=timeout_s)

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
        target = self.target
        body = encode_request(texts, model, encoding_format, dimensions, target.dialect)
        url, shape = target.url, SPECS[target.dialect].shape
        try:
            reply = self._http.post(url, content=body)
        except httpx.HTTPError as exc:
            raise EmbeddingFailed(ErrorKind.CONNECTION, f"{url}: {type(exc).__name__}") from None
        check = check_reply(reply.status_code, reply.content, len(texts), dimensions, shape)
        if check.error is not None:
            raise EmbeddingFailed(check.error, f"{url}: {check.message}")
        return reply_vectors(reply.content, shape)

    def embed_each(
        self, texts: list[str], model: str | None, concurrency: int = 64
    ) -> list[np.ndarray]:
        """Each text in a request of its own, `concurrency` in flight at once; input order."""
        with ThreadPoolExecutor(concurrency, thread_name_prefix="embload-burst") as pool:
            return [v[0] for v in pool.map(lambda t: self.embed([t], model), texts)]
