"""Endpoint dialect over HTTP: where a target's embeddings live, the request bytes, the reply check.

Only the OpenAI `/v1/embeddings` dialect for now. The load path (Locust's FastHttpUser) calls
`encode_request` and `check_reply`; httpx serves the single calls: probes and model listing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from loadtest.core.errors import classify_status
from loadtest.core.types import ErrorKind
from loadtest.core.wire import ReplyCheck, check_embedding_reply, embedding_request, failure


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
    kind, message = classify_status(status, body)
    if kind is not None and message is not None:  # set together for every non-2xx
        return failure(kind, message)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses NaN and Infinity; the lenient parser tells a bad vector from bad JSON.
        try:
            doc = json.loads(body)
        except ValueError:
            return failure(ErrorKind.INVALID_RESPONSE, "reply is not JSON")
    return check_embedding_reply(doc, n_inputs, expected_dim)


class _Model(BaseModel):
    id: str


class _ModelList(BaseModel):
    data: list[_Model]


class TargetUnreachable(Exception):
    """Nothing answered at the target: refused, unresolvable, or timed out."""


def list_models(target: Target, api_key: str | None = None, timeout_s: float = 5.0) -> list[str]:
    """Model ids from `GET {base}/models`; [] when the server has no such route or shape."""
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
        return [m.id for m in _ModelList.model_validate_json(resp.content).data]
    except ValidationError:
        return []
