"""Reply validation on every kind of bad reply, target parsing, the vector codec, and the
off-load-path client against a real loopback server."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pytest

from loadtest.core.dialects import Dialect
from loadtest.core.errors import EmbeddingFailed, TargetUnreachable, UsageError
from loadtest.core.types import ErrorKind
from loadtest.core.wire import NotFloat32, check_embedding_reply
from loadtest.target.client import EmbeddingsClient
from loadtest.target.codec import (
    _read_fast,
    check_reply,
    decode_vector,
    encode_request,
    encode_vector,
    rate_limit_note,
    request_headers,
)
from loadtest.target.url import parse_target, redact
from tests.support.http import QuietHandler, serving


def reply(vectors: list[list[float]], tokens: int = 7) -> bytes:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return json.dumps(
        {
            "object": "list",
            "data": data,
            "model": "m",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    ).encode()


def test_good_reply() -> None:
    check = check_reply(200, reply([[0.6, 0.8], [1.0, 0.0]]), 2, None)
    assert (check.error, check.prompt_tokens, check.dim) == (None, 7, 2)


def test_good_base64_reply() -> None:
    vec = base64.b64encode(np.array([0.6, 0.8, 0.0], dtype="<f4").tobytes()).decode()
    doc = {"data": [{"index": 0, "embedding": vec}]}
    assert check_reply(200, json.dumps(doc).encode(), 1, 3).error is None


NAN_BASE64 = base64.b64encode(np.array([np.nan, 1.0], dtype="<f4").tobytes()).decode()


@pytest.mark.parametrize(
    ("status", "body", "n", "expected_dim", "kind"),
    [
        (400, b'{"error": {"message": "bad input"}}', 1, None, ErrorKind.HTTP_4XX),
        (404, b'{"detail": "Not Found"}', 1, None, ErrorKind.HTTP_4XX),
        (500, b"Internal Server Error", 1, None, ErrorKind.HTTP_5XX),
        (503, b'{"message": "unhealthy"}', 1, None, ErrorKind.HTTP_5XX),
        (429, b'{"error": "Model is overloaded"}', 1, None, ErrorKind.RATE_LIMITED),
        (
            500,
            b'{"error": {"message": "CUDA out of memory. Tried to allocate 2.00 GiB"}}',
            1,
            None,
            ErrorKind.OOM,
        ),
        (200, b"<html>hello</html>", 1, None, ErrorKind.INVALID_RESPONSE),
        (200, b'{"object": "list"}', 1, None, ErrorKind.INVALID_RESPONSE),
        (200, reply([[1.0], [1.0]]), 1, None, ErrorKind.INVALID_RESPONSE),  # 2 vectors, 1 input
        (200, b'{"data": [{"index": 0}]}', 1, None, ErrorKind.INVALID_RESPONSE),
        (200, b'{"data": [{"index": 0, "embedding": ["a"]}]}', 1, None, ErrorKind.INVALID_RESPONSE),
        (200, b'{"data": [{"index": 5, "embedding": [1.0]}]}', 1, None, ErrorKind.INVALID_RESPONSE),
        (302, b"", 1, None, ErrorKind.INVALID_RESPONSE),
        (
            200,
            b'{"data": [{"index": 0, "embedding": [NaN, 1.0]}]}',
            1,
            None,
            ErrorKind.INVALID_VECTOR,
        ),
        (
            200,
            b'{"data": [{"index": 0, "embedding": [Infinity]}]}',
            1,
            None,
            ErrorKind.INVALID_VECTOR,
        ),
        (200, b'{"data": [{"index": 0, "embedding": [1e999]}]}', 1, None, ErrorKind.INVALID_VECTOR),
        (200, b'{"data": [{"index": 0, "embedding": []}]}', 1, None, ErrorKind.INVALID_VECTOR),
        (200, reply([[1.0, 0.0], [1.0]]), 2, None, ErrorKind.INVALID_VECTOR),  # inconsistent dims
        (200, reply([[1.0, 0.0]]), 1, 384, ErrorKind.INVALID_VECTOR),  # not the expected dim
        (
            200,
            json.dumps({"data": [{"index": 0, "embedding": NAN_BASE64}]}).encode(),
            1,
            None,
            ErrorKind.INVALID_VECTOR,
        ),
        # Shapes a buffer-reading parser could wave through: nested one-element arrays (a
        # flattened buffer has the right length), booleans, a bool or a list as the index.
        (
            200,
            b'{"data": [{"index": 0, "embedding": [1.0, [2.0]]}]}',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),
        (
            200,
            b'{"data": [{"index": 0, "embedding": [[1.0, 2.0]]}]}',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),
        (
            200,
            b'{"data": [{"index": 0, "embedding": [1.0, true]}]}',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),
        (
            200,
            b'{"data": [{"index": true, "embedding": [1.0]}]}',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),
        (
            200,
            b'{"data": [{"index": [0], "embedding": [1.0]}]}',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),
        (
            200,
            b'{"data": [{"index": 0, "embedding": "AAA"}]}',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),  # not base64
        (
            200,
            b'{"data": [{"index": 0, "embedding": "AAAAAAA="}]}',
            1,
            None,
            ErrorKind.INVALID_VECTOR,
        ),  # 5 bytes: not float32s
        (
            200,
            b'{"data": [{"index": 0, "embedding": [1.0]}]} trailing',
            1,
            None,
            ErrorKind.INVALID_RESPONSE,
        ),
    ],
)
def test_bad_replies_get_their_kind(
    status: int, body: bytes, n: int, expected_dim: int | None, kind: ErrorKind
) -> None:
    check = check_reply(status, body, n, expected_dim)
    assert check.error is kind
    assert check.message


GOOD_REPLIES = [
    reply([[0.6, 0.8]]),
    reply([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]]),
    reply([[1, 0, -1]]),  # integers are numbers too
    json.dumps(
        {"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]}
    ).encode(),  # out of order, each index once
    json.dumps({"data": [{"embedding": [0.5]}]}).encode(),  # no index, no usage
    json.dumps({"model": "[x]", "data": [{"index": 0, "embedding": [0.5]}]}).encode(),
    json.dumps(
        {
            "data": [
                {"index": 0, "embedding": base64.b64encode(np.ones(8, "<f4").tobytes()).decode()}
            ]
        }
    ).encode(),
]


@pytest.mark.parametrize("body", GOOD_REPLIES)
def test_fast_path_agrees_with_the_standard_parser(body: bytes) -> None:
    n = len(json.loads(body)["data"])
    standard = check_embedding_reply(json.loads(body), n, None, decode_vector)
    assert check_reply(200, body, n, None) == standard
    assert check_reply(200, body, n, None).error is None


def test_fast_path_takes_the_usual_replies() -> None:
    # Not a speed test: that the usual shapes do not fall back to the slow parser.
    assert _read_fast(GOOD_REPLIES[1]) is not None
    assert _read_fast(GOOD_REPLIES[-1]) is not None
    assert _read_fast(b'{"data": [{"index": 0, "embedding": [1.0, [2.0]]}]}') is None


def test_error_message_is_the_servers_own_words() -> None:
    body = b'{"error": {"message": "Input length 300 tokens exceeds the maximum of 256"}}'
    assert check_reply(400, body, 1, None).message == (
        "HTTP 400: Input length 300 tokens exceeds the maximum of 256"
    )


@pytest.mark.parametrize(
    ("url", "dialect", "route", "spoken", "probe"),
    [
        ("http://127.0.0.1:30000/v1", None, "/v1/embeddings", "openai", False),
        ("http://127.0.0.1:30000", None, "/v1/embeddings", "openai", True),  # until asked
        ("http://127.0.0.1:30000/", None, "/embeddings", "openai", False),  # no prefix
        ("http://127.0.0.1:30000/embeddings", None, "/embeddings", "openai", False),
        ("https://api.example.com/openai/v1/", None, "/openai/v1/embeddings", "openai", False),
        ("http://h:8080/v1/embeddings", None, "/v1/embeddings", "openai", False),
        ("http://h:8080/embed", None, "/embed", "tei", False),
        ("http://h:8080/api/embed", None, "/api/embed", "ollama", False),
        ("https://api.cohere.com/v2/embed", None, "/v2/embed", "cohere", False),
        ("http://h:8080", "tei", "/embed", "tei", False),
        ("http://h:8080", "infinity", "/embeddings", "infinity", False),
        ("http://h:8080/", "tei", "/embed", "tei", False),
        ("http://h:8080/embeddings", "infinity", "/embeddings", "infinity", False),
    ],
)
def test_targets(
    url: str, dialect: Dialect | None, route: str, spoken: Dialect, probe: bool
) -> None:
    target = parse_target(url, dialect)
    assert (target.embeddings_path, target.dialect, target.probe) == (route, spoken, probe)
    assert target.url == target.host + route and "/" not in target.host.split("//")[1]


def test_a_target_route_and_a_dialect_that_disagree_are_refused() -> None:
    with pytest.raises(UsageError, match="names a tei route but --dialect is openai"):
        parse_target("http://h:8080/embed", "openai")


@pytest.mark.parametrize("url", ["127.0.0.1:30000", "ftp://x/v1", "http://"])
def test_bad_targets(url: str) -> None:
    with pytest.raises(UsageError, match="not an http"):
        parse_target(url)


def test_request_body_is_openai_shaped() -> None:
    body = json.loads(encode_request(["a", "b"], "m", "base64", 256))
    assert body == {
        "input": ["a", "b"],
        "model": "m",
        "encoding_format": "base64",
        "dimensions": 256,
    }
    assert "model" not in json.loads(encode_request(["a"], None))


def test_vector_codec_round_trips_float32_and_refuses_what_is_not() -> None:
    vector = np.array([0.25, -1.5, 3.0], dtype="<f4")
    assert np.array_equal(decode_vector(encode_vector(vector)), vector)
    with pytest.raises(NotFloat32, match="5 bytes"):
        decode_vector("AAAAAAA=")
    with pytest.raises(ValueError):
        decode_vector("not base64!")


def test_request_headers_in_one_place() -> None:
    assert request_headers(None) == {"Content-Type": "application/json"}
    assert request_headers("k", {"X-Tenant": "t"}) == {
        "X-Tenant": "t",
        "Content-Type": "application/json",
        "Authorization": "Bearer k",
    }


class _Handler(QuietHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []  # (path, Authorization) of each request
    nan: ClassVar[bool] = False

    def _send_json(self, status: int, doc: object) -> None:
        self._send(status, json.dumps(doc).encode())

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        if self.path == "/v1/models":
            self._send_json(200, {"data": [{"id": "first", "truncate": True}, {"id": "second"}]})
        else:
            self._send_json(200 if self.path == "/health" else 404, {"status": "ok", "at": 1.5})

    def do_POST(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
        # each vector encodes its text's length, so the order of replies can be checked
        rows = [[float("nan") if self.nan else float(len(t)), 1.0] for t in texts]
        data = [{"index": i, "embedding": encode_vector(np.array(r))} for i, r in enumerate(rows)]
        self._send_json(200, {"data": data, "usage": {"prompt_tokens": len(texts)}})


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen, _Handler.nan = [], False
    with serving(_Handler) as url:
        yield f"{url}/v1"


def test_client_lists_models_embeds_in_order_and_checks_health(server: str) -> None:
    with EmbeddingsClient(parse_target(server), api_key="sk-test") as client:
        assert [c.id for c in client.models()] == ["first", "second"]
        card = client.model_card(None)
        assert card is not None and card.id == "first" and card.truncate is True
        assert client.model_card("second") is not None and client.model_card("nope") is None
        vectors = client.embed(["a", "bbb"], "first")
        assert [v[0] for v in vectors] == [1.0, 3.0]
        burst = client.embed_each(["x" * n for n in range(1, 40)], "first", concurrency=8)
        assert [int(v[0]) for v in burst] == list(range(1, 40))  # input order kept
        health = client.health()
        assert health.up and health.detail == "HTTP 200" and health.doc["at"] == 1.5
        assert client.health("/nope").detail == "HTTP 404"
    assert all(auth == "Bearer sk-test" for _, auth in _Handler.seen)


def test_client_refuses_a_reply_the_load_path_would_refuse(server: str) -> None:
    _Handler.nan = True
    with EmbeddingsClient(parse_target(server)) as client, pytest.raises(EmbeddingFailed) as err:
        client.embed(["a"], None)
    assert err.value.kind is ErrorKind.INVALID_VECTOR


def test_nothing_listening_is_target_unreachable() -> None:
    with socket.socket() as s:  # a loopback port that nothing listens on once released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with EmbeddingsClient(parse_target(f"http://127.0.0.1:{port}")) as client:
        with pytest.raises(TargetUnreachable, match="nothing is answering"):
            client.models()
        assert not client.health().up


def test_a_429s_headers_say_what_the_limit_is() -> None:
    headers = {"retry-after": "2", "x-ratelimit-remaining-requests": "0"}
    assert rate_limit_note(headers.get) == " (retry after 2 s, requests left 0)"
    assert rate_limit_note({}.get) == ""


def test_a_url_is_shown_without_its_user_and_password() -> None:
    assert redact("http://alice:pw@127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact("https://token@api.example.com/v1/embeddings?x=1") == (
        "https://api.example.com/v1/embeddings?x=1"
    )
    assert redact("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
