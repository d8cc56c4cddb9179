"""The check of a parsed embeddings reply, in any dialect (core/dialects.py says where).

The reply check runs once per request inside the load generator, so it is hand-written over
plain lists and arrays rather than a pydantic model: a 1024-d vector costs a few microseconds.
base64 vectors are decoded by the function the caller passes (client.py's, the one decoder),
so the check itself stays free of codecs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from loadtest.core.dialects import SPECS, ReplyShape
from loadtest.core.types import ErrorKind


class ReplyCheck(NamedTuple):
    """The verdict on one reply. Immutable like the frozen dataclasses, and built once per
    request in the load generator, where a NamedTuple costs a quarter of a frozen dataclass."""

    error: ErrorKind | None
    message: str | None
    prompt_tokens: int | None
    dim: int | None


def failure(kind: ErrorKind, message: str) -> ReplyCheck:
    """The verdict on a request that failed: no tokens, no dimension."""
    return ReplyCheck(kind, message, None, None)


# A base64 string to its little-endian float32 vector: ValueError when the text is not base64,
# NotFloat32 when it decodes to a byte count that is no whole number of float32s.
Decoder = Callable[[str], np.ndarray]


class NotFloat32(ValueError):
    """base64 that decodes, but not to float32s."""


def _vector_length(embedding: object, i: int, decode: Decoder) -> int | ReplyCheck:
    """The dimension of one embedding, or the verdict on why it is not a usable vector.

    An embedding is a list of numbers (the JSON as parsed), a base64 string of little-endian
    float32s, or a numpy array (what a parser that reads vectors as buffers hands over).
    """
    if isinstance(embedding, np.ndarray):  # first: the load path hands these over
        if embedding.ndim != 1 or embedding.dtype.kind != "f":
            return failure(
                ErrorKind.INVALID_RESPONSE, f"embedding {i} is not a flat vector of numbers"
            )
        # A finite dot product proves every value finite (and costs a third of a sum); only a
        # NaN/Inf, or values so large their squares overflow, need the element-wise look.
        if not math.isfinite(embedding.dot(embedding)) and not np.isfinite(embedding).all():
            return failure(ErrorKind.INVALID_VECTOR, f"embedding {i} has NaN or Inf values")
        return int(embedding.size)
    if isinstance(embedding, str):
        try:
            vector = decode(embedding)
        except NotFloat32 as exc:
            return failure(ErrorKind.INVALID_VECTOR, f"embedding {i} {exc}")
        except ValueError:
            return failure(ErrorKind.INVALID_RESPONSE, f"embedding {i} is not valid base64")
        return _vector_length(vector, i, decode)
    if not isinstance(embedding, list):
        kind = type(embedding).__name__
        return failure(
            ErrorKind.INVALID_RESPONSE, f"embedding {i} is {kind}, not a list of numbers"
        )
    # bool is an int to Python but not a number in JSON.
    if not all(type(v) is float or type(v) is int for v in embedding):
        return failure(
            ErrorKind.INVALID_RESPONSE, f"embedding {i} holds a value that is not a number"
        )
    if not all(math.isfinite(v) for v in embedding):
        return failure(ErrorKind.INVALID_VECTOR, f"embedding {i} has NaN or Inf values")
    return len(embedding)


def _one_each(indices: Sequence[object], n: int) -> bool:
    """Whether the `index` fields are 0..n-1, each once, in any order."""
    expected = list(range(n))
    if indices == expected:
        return True
    ints = [i for i in indices if type(i) is int]  # bool is an int to Python, not in JSON
    return len(ints) == len(indices) and sorted(ints) == expected


def check_embedding_reply(
    doc: object,
    n_inputs: int,
    expected_dim: int | None,
    decode: Decoder,
    shape: ReplyShape = SPECS["openai"].shape,
) -> ReplyCheck:
    """The verdict on a reply as a standard JSON parser reads it, its vectors where `shape`
    says they are."""
    found = locate(doc, shape)
    if isinstance(found, str):
        return failure(ErrorKind.INVALID_RESPONSE, found)
    vectors, indices, tokens = found
    return check_vectors(vectors, indices, tokens, n_inputs, expected_dim, decode)


def locate(doc: object, shape: ReplyShape) -> tuple[list[object], list[object], object] | str:
    """(the embeddings, their `index` fields, the token count) of a parsed reply, or what is
    missing. Takes dicts and lists, or any parser's objects and arrays that behave alike (an
    object has `get`, an array `__len__` but no `get`, a string neither: duck-typed, because
    this runs once per request and an attribute look-up is the cheapest test)."""
    node = _walk(doc, shape.vectors)
    if not hasattr(node, "__len__") or hasattr(node, "get") or isinstance(node, str | bytes):
        where = ".".join(shape.vectors)
        return f"reply has no '{where}' list" if where else "reply is not a list"
    if shape.item is None:
        embeddings = list(node)
        return embeddings, list(range(len(embeddings))), _tokens(doc, shape.tokens)
    vectors: list[object] = []
    indices: list[object] = []
    for i, item in enumerate(node):
        value = item.get(shape.item) if hasattr(item, "get") else None
        if value is None:
            return f"{'.'.join(shape.vectors)}[{i}] has no '{shape.item}'"
        vectors.append(value)
        indices.append(item.get("index", i))
    return vectors, indices, _tokens(doc, shape.tokens)


def _tokens(doc: object, keys: tuple[str, ...]) -> object:
    return _walk(doc, keys) if keys else None


def _walk(node: Any, keys: tuple[str, ...]) -> Any:
    """The value at `keys` down from `node`, or None where an object is missing."""
    for key in keys:
        node = node.get(key) if hasattr(node, "get") else None
    return node


def check_vectors(
    vectors: Sequence[object],
    indices: Sequence[object],
    tokens: object,
    n_inputs: int,
    expected_dim: int | None,
    decode: Decoder,
) -> ReplyCheck:
    """One vector per input, the same dimension for all (and `expected_dim`), finite values.

    `vectors`, their `index` fields and `usage.prompt_tokens` as taken from the reply, by
    whichever parser read it.
    """
    if len(vectors) != n_inputs:
        return failure(ErrorKind.INVALID_RESPONSE, f"{len(vectors)} vectors for {n_inputs} inputs")
    dim: int | None = None
    for i, embedding in enumerate(vectors):
        length = _vector_length(embedding, i, decode)
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
    if not _one_each(indices, n_inputs):
        return failure(ErrorKind.INVALID_RESPONSE, "indices are not 0..n-1, one per input")
    if expected_dim is not None and dim != expected_dim:
        return failure(ErrorKind.INVALID_VECTOR, f"{dim} dims where {expected_dim} were expected")
    return ReplyCheck(None, None, tokens if type(tokens) is int else None, dim)
