"""The embeddings APIs embload speaks: each one's route, request body and reply shape.

Read from each API's published reference:
- openai: `POST {base}/embeddings`, `{"input", "model", "encoding_format", "dimensions"}` ->
  `{"data": [{"embedding", "index"}], "usage": {"prompt_tokens"}}`. vLLM, sglang, TEI's
  OpenAI route and the bundled server speak it.
- infinity: the OpenAI shape at `/embeddings` (no `/v1` unless started with `--url-prefix`);
  errors as `{"detail": ...}` or `{"error": {...}}`.
- tei: Hugging Face text-embeddings-inference's native `POST /embed`, `{"inputs", "truncate",
  "normalize", "dimensions"}` -> a bare list of vectors (embload sends `normalize: true`, as
  the OpenAI route does, and leaves `truncate` to the server's `--auto-truncate`); errors
  `{"error", "error_type"}` with 413 (payload), 422 (validation, too long), 424 (inference
  failed), 429 (overloaded).
- ollama: `POST /api/embed`, `{"model", "input"}` -> `{"embeddings": [[...]],
  "prompt_eval_count"}`; errors `{"error"}`.
- cohere: `POST /v2/embed`, `{"model", "texts", "input_type", "embedding_types": ["float"]}` ->
  `{"embeddings": {"float": [[...]]}, "meta": {"billed_units": {"input_tokens"}}}`; errors
  `{"message"}`.

Every dialect's reply goes through the same checks (count, dimension, finite values, error
kinds): only where the vectors and the token count sit differs, which `ReplyShape` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Dialect = Literal["openai", "infinity", "tei", "ollama", "cohere"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)


@dataclass(frozen=True, slots=True)
class ReplyShape:
    """Where a reply keeps its vectors and its input token count."""

    vectors: tuple[str, ...]  # keys from the top to the list of vectors; () when it is the top
    item: str | None  # each element an object holding its vector under this key (and `index`)
    tokens: tuple[str, ...]  # keys to the input token count; () for none
    arrays: int = 1  # JSON arrays a well-formed reply holds besides its vectors


@dataclass(frozen=True, slots=True)
class DialectSpec:
    route: str  # the embeddings route, under the target's prefix
    shape: ReplyShape
    base64: bool  # whether it can send vectors as base64 (OpenAI's encoding_format)


_OPENAI = ReplyShape(("data",), "embedding", ("usage", "prompt_tokens"))
SPECS: dict[Dialect, DialectSpec] = {
    "openai": DialectSpec("/embeddings", _OPENAI, True),
    "infinity": DialectSpec("/embeddings", _OPENAI, True),
    "tei": DialectSpec("/embed", ReplyShape((), None, ()), False),
    "ollama": DialectSpec(
        "/embed", ReplyShape(("embeddings",), None, ("prompt_eval_count",)), False
    ),
    "cohere": DialectSpec(
        "/embed",
        ReplyShape(("embeddings", "float"), None, ("meta", "billed_units", "input_tokens"), 2),
        False,
    ),
}
# The prefix each dialect's route sits under when a URL names none (`http://h:p`)
DEFAULT_PREFIX: dict[Dialect, str] = {
    "openai": "/v1",
    "infinity": "",
    "tei": "",
    "ollama": "/api",
    "cohere": "/v2",
}
# Tried in order on a bare `http://h:p`: (prefix, dialect); the first that answers is used.
PROBES: tuple[tuple[str, Dialect], ...] = (
    ("/v1", "openai"),
    ("", "openai"),
    ("", "tei"),
    ("/api", "ollama"),
)
COHERE_INPUT_TYPE = "search_document"  # the corpus is documents; queries carry an instruction


def route_dialect(path: str) -> tuple[str, Dialect] | None:
    """(prefix, dialect) of a URL path that ends in a known route; None for a bare prefix."""
    for suffix, dialect, keep in (
        ("/api/embed", "ollama", "/api"),
        ("/v2/embed", "cohere", "/v2"),
        ("/embed", "tei", ""),
        ("/embeddings", "openai", ""),
    ):
        if path.endswith(suffix):
            return path[: -len(suffix)] + keep, dialect  # type: ignore[return-value]
    return None


def request_body(
    dialect: Dialect,
    texts: list[str],
    model: str | None,
    encoding_format: str = "float",
    dimensions: int | None = None,
    input_type: str | None = None,
) -> dict[str, Any]:
    """The JSON body of one embeddings request in `dialect`; `input_type`: the texts' role as
    the API names it (Cohere's field; OpenAI-style servers such as NVIDIA NIM's take it too)."""
    body: dict[str, Any]
    if dialect == "tei":
        # `truncate` left out: TEI then applies its own --auto-truncate, as the server is run
        body = {"inputs": texts, "normalize": True}
        if dimensions is not None:
            body["dimensions"] = dimensions
        return body
    if dialect == "ollama":
        body = {"model": model, "input": texts}
        if dimensions is not None:
            body["dimensions"] = dimensions
        return body
    if dialect == "cohere":
        body = {"model": model, "texts": texts, "input_type": input_type or COHERE_INPUT_TYPE}
        body["embedding_types"] = ["float"]
        if dimensions is not None:
            body["output_dimension"] = dimensions
        return body
    body = {"input": texts, "encoding_format": encoding_format}
    if model:
        body["model"] = model
    if dimensions is not None:
        body["dimensions"] = dimensions
    if input_type is not None:
        body["input_type"] = input_type
    return body
