"""Endpoint dialect over HTTP: where a target's embeddings live, the request bytes, the reply check.

Only the OpenAI `/v1/embeddings` dialect for now. The load path (Locust's FastHttpUser) calls
`encode_request` and `check_reply`; httpx serves the single calls: probes and model listing.

`check_reply` runs once per request on the generator's core, so a well-formed reply takes the
fast road: simdjson validates the whole document (it refuses NaN, Infinity and overflowing
numbers) and hands each vector over as one float64 buffer, never as 1,024 Python floats;
base64 vectors are decoded by pybase64 (SIMD; the standard library's takes 20x longer).
Anything unusual falls back to the lenient standard parser, which finds the exact fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
import pybase64
import simdjson
from pydantic import BaseModel, ConfigDict, ValidationError

from loadtest.core.errors import classify_status
from loadtest.core.types import ErrorKind
from loadtest.core.wire import (
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


def check_reply(status: int, body: bytes, n_inputs: int, expected_dim: int | None) -> ReplyCheck:
    """Status, JSON, one finite vector per input, one dimension: the verdict on a reply."""
    if not 200 <= status < 300:
        kind, message = classify_status(status, body)
        if kind is not None and message is not None:  # set together for every non-2xx
            return failure(kind, message)
    parts = _read_fast(body)
    if parts is not None:
        return check_vectors(*parts, n_inputs, expected_dim)
    # The lenient parser reads NaN and Infinity, so a bad vector is told from bad JSON.
    try:
        doc = json.loads(body)
    except ValueError:
        return failure(ErrorKind.INVALID_RESPONSE, "reply is not JSON")
    return check_embedding_reply(doc, n_inputs, expected_dim)


def reply_vectors(body: bytes) -> list[np.ndarray]:
    """The vectors of a good reply, in input order (for the few replies the probe samples)."""
    parts = _read_fast(body)
    if parts is None:
        doc = json.loads(body)
        rows = sorted(doc["data"], key=lambda d: d.get("index", 0))
        return [np.asarray(r["embedding"], dtype=np.float64) for r in rows]
    vectors, indices, _ = parts
    order = sorted(range(len(vectors)), key=lambda i: indices[i])  # type: ignore[arg-type,return-value]
    return [vectors[i] for i in order]


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
                raw = pybase64.b64decode(embedding, validate=True)
            except ValueError:
                return None
            if len(raw) % 4:
                return None
            vectors.append(np.frombuffer(raw, dtype="<f4"))
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


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")  # servers add fields: dimensions, weights, ...

    id: str


class _ModelList(BaseModel):
    data: list[_Model]


class TargetUnreachable(Exception):
    """Nothing answered at the target: refused, unresolvable, or timed out."""


def list_model_cards(
    target: Target, api_key: str | None = None, timeout_s: float = 5.0
) -> list[dict[str, Any]]:
    """The model cards of `GET {base}/models`; [] when the server has no such route or shape."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        resp = httpx.get(target.base_url + "/models", headers=headers, timeout=timeout_s)
    except (httpx.ConnectError, httpx.TimeoutException) as exc:
        raise TargetUnreachable(
            f"nothing is answering at {target.base_url}: {type(exc).__name__}"
        ) from None
    if resp.status_code != 200:
        return []
    try:
        return [m.model_dump() for m in _ModelList.model_validate_json(resp.content).data]
    except ValidationError:
        return []


def list_models(target: Target, api_key: str | None = None, timeout_s: float = 5.0) -> list[str]:
    """Model ids from `GET {base}/models`; [] when the server has no such route or shape."""
    return [str(card["id"]) for card in list_model_cards(target, api_key, timeout_s)]
