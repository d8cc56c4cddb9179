from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from loadtest.config.settings import LoadSettings
from loadtest.core.dialects import DIALECTS, SPECS, Dialect, request_body, route_dialect
from loadtest.core.types import ErrorKind
from loadtest.target.codec import _read_fast, check_reply, reply_vectors

V = [[0.6, 0.8], [1.0, 0.0]]
REPLIES: dict[Dialect, Any] = {
    "openai": {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(V)],
        "model": "m",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    },
    "tei": V,
    "ollama": {"model": "m", "embeddings": V, "total_duration": 14143917, "prompt_eval_count": 7},
    "cohere": {
        "id": "x",
        "embeddings": {"float": V},
        "texts": ["a", "b"],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 7}},
        "response_type": "embeddings_by_type",
    },
}
REPLIES["infinity"] = REPLIES["openai"]


def test_the_settings_offer_exactly_the_dialects_core_speaks() -> None:
    field = LoadSettings.model_fields["dialect"].annotation
    offered = {a for arg in get_args(field) for a in get_args(arg)}
    assert offered == set(DIALECTS)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_reply_passes_the_same_checks_on_the_fast_road(dialect: Dialect) -> None:
    body = json.dumps(REPLIES[dialect]).encode()
    shape = SPECS[dialect].shape
    check = check_reply(200, body, 2, None, shape)
    assert check.error is None and check.dim == 2
    assert check.prompt_tokens == (None if dialect == "tei" else 7)
    assert _read_fast(body, shape) is not None  # no fall back to the lenient parser
    assert [list(v) for v in reply_vectors(body, shape)] == V
    # one vector short, a NaN, a dimension off: the same verdicts in every dialect
    assert check_reply(200, body, 3, None, shape).error is ErrorKind.INVALID_RESPONSE
    assert check_reply(200, body, 2, 3, shape).error is ErrorKind.INVALID_VECTOR
    nan = body.replace(b"0.6", b"NaN", 1)
    assert check_reply(200, nan, 2, None, shape).error is ErrorKind.INVALID_VECTOR


def test_a_nested_vector_is_refused_in_a_bare_list() -> None:
    shape = SPECS["tei"].shape
    assert check_reply(200, b"[[1.0, [2.0]]]", 1, None, shape).error is ErrorKind.INVALID_RESPONSE
    assert check_reply(200, b'{"data": []}', 1, None, shape).message == "reply is not a list"


def test_a_bracket_in_cohere_texts_takes_the_lenient_road_to_the_same_verdict() -> None:
    doc = {**REPLIES["cohere"], "texts": ["x = [1, 2]", "b"]}
    body = json.dumps(doc).encode()
    shape = SPECS["cohere"].shape
    assert _read_fast(body, shape) is None
    assert check_reply(200, body, 2, None, shape).error is None


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("openai", {"input": ["a"], "encoding_format": "base64", "model": "m", "dimensions": 8}),
        ("infinity", {"input": ["a"], "encoding_format": "base64", "model": "m", "dimensions": 8}),
        ("tei", {"inputs": ["a"], "normalize": True, "dimensions": 8}),
        ("ollama", {"model": "m", "input": ["a"], "dimensions": 8}),
        (
            "cohere",
            {
                "model": "m",
                "texts": ["a"],
                "input_type": "search_document",
                "embedding_types": ["float"],
                "output_dimension": 8,
            },
        ),
    ],
)
def test_request_bodies_as_each_api_documents_them(
    dialect: Dialect, expected: dict[str, Any]
) -> None:
    assert request_body(dialect, ["a"], "m", "base64", 8) == expected


def test_routes_name_their_dialect() -> None:
    assert route_dialect("/v1/embeddings") == ("/v1", "openai")
    assert route_dialect("/embed") == ("", "tei")
    assert route_dialect("/api/embed") == ("/api", "ollama")
    assert route_dialect("/v2/embed") == ("/v2", "cohere")
    assert route_dialect("/v1") is None
