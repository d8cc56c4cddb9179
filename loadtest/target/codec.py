"""The bytes of an embeddings request and the verdict on a reply: what the load path and the
httpx client share.

`check_reply` runs once per request on the generator's core, so a well-formed reply takes the
fast road: simdjson validates the whole document (it refuses NaN, Infinity and overflowing
numbers) and hands each vector over as one float64 buffer, never as 1,024 Python floats;
base64 vectors are decoded by pybase64 (SIMD; the standard library's is many times slower,
bench/RESULTS.md). Anything unusual falls back to the lenient standard parser, which finds the
exact fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import orjson
import pybase64
import simdjson

from loadtest.core.dialects import SPECS, Dialect, ReplyShape, request_body
from loadtest.core.record import NO_CLOCK
from loadtest.core.replies import classify_status
from loadtest.core.types import ErrorKind
from loadtest.core.wire import (
    NotFloat32,
    ReplyCheck,
    check_embedding_reply,
    check_vectors,
    failure,
    locate,
)

ServerClock = tuple[float, float, float, float] | tuple[None, None, None, None]


def encode_request(
    texts: list[str],
    model: str | None,
    encoding_format: str = "float",
    dimensions: int | None = None,
    dialect: Dialect = "openai",
    input_type: str | None = None,
) -> bytes:
    return orjson.dumps(
        request_body(dialect, texts, model, encoding_format, dimensions, input_type)
    )


def request_headers(api_key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers of every embeddings request: the user's extras, JSON, the bearer token."""
    return {
        **(extra or {}),
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
    }


# TEI's timing headers, in the order of the record's server clock (core/record.SERVER_CLOCK)
CLOCK_HEADERS = ("x-queue-time", "x-tokenization-time", "x-inference-time", "x-total-time")


def server_clock(header: Callable[[str], object]) -> ServerClock:
    """TEI's timing headers (milliseconds; the bundled server sends them too) in seconds:
    queue, tokenization, inference, total. NO_CLOCK without `x-total-time` or with a garbled
    one."""
    if header("x-total-time") is None:
        return NO_CLOCK
    try:
        q, t, i, total = (float(str(header(name) or 0)) / 1000 for name in CLOCK_HEADERS)
    except ValueError:
        return NO_CLOCK
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
    the standard library's is many times slower (bench/RESULTS.md)."""
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
