"""OpenAI `/v1/embeddings` shapes: the request body, and the check of a parsed reply.

The reply check runs once per request inside the load generator, so it is hand-written over
plain lists rather than a pydantic model: a 1024-float vector costs a few microseconds here.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from loadtest.core.types import ErrorKind

ENCODING_FORMATS = ("float", "base64")


def embedding_request(
    texts: list[str],
    model: str | None,
    encoding_format: str = "float",
    dimensions: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"input": texts, "encoding_format": encoding_format}
    if model:
        body["model"] = model
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


@dataclass(frozen=True, slots=True)
class ReplyCheck:
    """The verdict on one 2xx reply."""

    error: ErrorKind | None
    message: str | None
    prompt_tokens: int | None
    dim: int | None


def failure(kind: ErrorKind, message: str) -> ReplyCheck:
    """The verdict on a request that failed: no tokens, no dimension."""
    return ReplyCheck(kind, message, None, None)


def _vector_length(embedding: object, i: int) -> int | ReplyCheck:
    """The dimension of one embedding, or the verdict on why it is not a usable vector."""
    if isinstance(embedding, str):
        try:
            raw = base64.b64decode(embedding, validate=True)
        except (binascii.Error, ValueError):
            return failure(ErrorKind.INVALID_RESPONSE, f"embedding {i} is not valid base64")
        if len(raw) % 4:
            return failure(
                ErrorKind.INVALID_VECTOR, f"embedding {i} is {len(raw)} bytes, not float32s"
            )
        values = np.frombuffer(raw, dtype="<f4")
        if not np.isfinite(values).all():
            return failure(ErrorKind.INVALID_VECTOR, f"embedding {i} has NaN or Inf values")
        return int(values.size)
    if not isinstance(embedding, list):
        kind = type(embedding).__name__
        return failure(
            ErrorKind.INVALID_RESPONSE, f"embedding {i} is {kind}, not a list of numbers"
        )
    try:
        total = sum(embedding)
    except TypeError:
        return failure(
            ErrorKind.INVALID_RESPONSE, f"embedding {i} holds a value that is not a number"
        )
    # A finite sum proves every value finite; only a NaN/Inf (or an overflow) needs the slow look.
    if not math.isfinite(total) and not all(math.isfinite(v) for v in embedding):
        return failure(ErrorKind.INVALID_VECTOR, f"embedding {i} has NaN or Inf values")
    return len(embedding)


def check_embedding_reply(doc: object, n_inputs: int, expected_dim: int | None) -> ReplyCheck:
    """One vector per input, the same dimension for all (and `expected_dim`), finite values."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        return failure(ErrorKind.INVALID_RESPONSE, "reply has no 'data' list")
    data = doc["data"]
    if len(data) != n_inputs:
        return failure(ErrorKind.INVALID_RESPONSE, f"{len(data)} vectors for {n_inputs} inputs")
    indices = set()
    dim: int | None = None
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "embedding" not in item:
            return failure(ErrorKind.INVALID_RESPONSE, f"data[{i}] has no 'embedding'")
        indices.add(item.get("index", i))
        length = _vector_length(item["embedding"], i)
        if isinstance(length, ReplyCheck):
            return length
        if length == 0:
            return failure(ErrorKind.INVALID_VECTOR, f"embedding {i} is empty")
        if dim is None:
            dim = length
        elif length != dim:
            return failure(
                ErrorKind.INVALID_VECTOR, f"embedding {i} has {length} dims, embedding 0 {dim}"
            )
    if indices != set(range(n_inputs)):
        return failure(ErrorKind.INVALID_RESPONSE, "indices are not 0..n-1, one per input")
    if expected_dim is not None and dim != expected_dim:
        return failure(ErrorKind.INVALID_VECTOR, f"{dim} dims where {expected_dim} were expected")
    usage = doc.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return ReplyCheck(None, None, tokens if isinstance(tokens, int) else None, dim)
