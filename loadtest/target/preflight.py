"""Before any load, once per run: find a bare target's embeddings route, then send it one real
request.

A target given as a bare `http://h:p` is asked, in order, at `/v1/embeddings`, `/embeddings`
(OpenAI-shaped, Infinity's default), `/embed` (TEI) and `/api/embed` (Ollama); the first route
that is there is used. Then one request with a corpus text goes to the route the load will use
and gets the load path's own check. Anything wrong (no such route, a key refused, an unknown
model, a reply that is not embeddings in this dialect) stops the command with one line that
names the URL, what came back and what to do: never thousands of failed requests later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

import httpx
from pydantic import BaseModel, ConfigDict

from loadtest.config.settings import LoadSettings
from loadtest.core.dialects import PROBES, SPECS, Dialect
from loadtest.core.errors import PreflightFailed, TargetUnreachable
from loadtest.core.replies import error_message
from loadtest.core.results import ModelCard
from loadtest.core.types import ErrorKind
from loadtest.data import corpus
from loadtest.target.client import EmbeddingsClient, not_http
from loadtest.target.codec import check_reply, encode_request
from loadtest.target.url import Target, redact

_PROBE_TIMEOUT_S = 10.0
_PREFLIGHT_TIMEOUT_S = 60.0  # a cold server's first request may load a model


def _no_route(status: int, body: bytes) -> bool:
    """A 404 or 405 for the route itself, not for a model it does not know (Ollama's 404)."""
    return status in (404, 405) and "model" not in body.decode("utf-8", "replace").lower()


def _post(
    client: EmbeddingsClient, target: Target, body: bytes, timeout_s: float
) -> httpx.Response:
    try:
        return client.post(target.url, body, timeout_s)
    except (httpx.ConnectError, httpx.TimeoutException) as exc:
        raise TargetUnreachable(
            f"nothing is answering at {target.host}: {type(exc).__name__}"
        ) from None
    except httpx.HTTPError as exc:
        raise not_http(target.url, exc) from None


def find_route(client: EmbeddingsClient, target: Target, text: str, model: str | None) -> Target:
    """The first route a bare target answers at; the target itself when it is not bare."""
    if not target.probe:
        return target
    tried = []
    for prefix, dialect in PROBES:
        candidate = Target(target.host, prefix, dialect)
        body = encode_request([text], model, "float", None, dialect)
        reply = _post(client, candidate, body, _PROBE_TIMEOUT_S)
        if not _no_route(reply.status_code, reply.content):
            return candidate
        tried.append(candidate.embeddings_path)
    raise PreflightFailed(
        f"{target.host} has no embeddings route (tried {', '.join(tried)}: all 404): give the "
        "route with --target, e.g. http://host:port/v1, or the API with --dialect"
    )


class Preflight(BaseModel):
    """What the preflight found, worked out once per run and handed on whole: by the CLI to its
    Locust process (TRANSFER, in its environment), by a Locust master to its workers."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TRANSFER: ClassVar[str] = "EMBLOAD_PREFLIGHT"

    host: str
    prefix: str
    dialect: Dialect
    model: str | None  # sent with every request: as given, else the first /v1/models lists
    card: ModelCard | None  # the model as /v1/models lists it: weights, device, truncation

    @classmethod
    def at(cls, target: Target, model: str | None, card: ModelCard | None = None) -> Preflight:
        return cls(
            host=target.host, prefix=target.prefix, dialect=target.dialect, model=model, card=card
        )

    @property
    def target(self) -> Target:
        return Target(self.host, self.prefix, self.dialect)


def preflight(
    target: Target,
    *,
    text: str,
    model: str | None,
    encoding_format: str,
    dimensions: int | None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    request: bool = True,
) -> Preflight:
    """Find the route (bare target) and the model (the first listed, unless given), then one
    real request there, checked as the load checks every reply. PreflightFailed with the one
    line when the load could only fail as asked for; TargetUnreachable when nothing answers.

    A server that is there but failing (5xx, 429, a timeout, a NaN vector) is what a load
    test measures: those go on to the load, which records each failure. `request=False` (a
    plain `locust -f` run, whose user asked Locust for the load as it comes): the route and
    the model only, every reply left to the load to record."""
    with EmbeddingsClient(target, api_key=api_key, headers=headers) as client:
        return _preflight(client, text, model, encoding_format, dimensions, request)


def preflight_for(target: Target, settings: LoadSettings, *, request: bool = True) -> Preflight:
    """`preflight` with what a test's settings say: its model, encoding, dimensions, key and
    headers, and the first text of its corpus."""
    return preflight(
        target,
        text=corpus(settings.corpus)[0].text,
        model=settings.model,
        encoding_format=settings.encoding_format,
        dimensions=settings.dimensions,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        headers=settings.headers,
        request=request,
    )


def _preflight(
    client: EmbeddingsClient,
    text: str,
    model: str | None,
    encoding_format: str,
    dimensions: int | None,
    request: bool,
) -> Preflight:
    target = client.target = find_route(client, client.target, text, model)
    try:
        card = client.model_card(model)
    except TargetUnreachable:  # /models not answering: with a model given, not needed
        if model is None:
            raise
        card = None
    model = model or (card.id if card else None)
    found = Preflight.at(target, model, card)
    if not request:
        return found
    body = encode_request([text], model, encoding_format, dimensions, target.dialect)
    reply = _post(client, target, body, _PREFLIGHT_TIMEOUT_S)
    status = reply.status_code
    check = check_reply(status, reply.content, 1, dimensions, SPECS[target.dialect].shape)
    if not _misasked(status, check.error):
        return found
    raise PreflightFailed(_line(client, target, status, reply.content, check.error, check.message))


def _misasked(status: int, kind: ErrorKind | None) -> bool:
    """A reply that says the request itself is wrong (route, key, model, shape, dialect)."""
    if 400 <= status < 500:
        return status not in (408, 429)
    return status < 300 and kind is ErrorKind.INVALID_RESPONSE


def _line(
    client: EmbeddingsClient,
    target: Target,
    status: int,
    body: bytes,
    kind: ErrorKind | None,
    message: str | None,
) -> str:
    said = f"{redact(target.url)} answered HTTP {status}"
    words = error_message(body) if status >= 400 else message
    if status in (401, 403):
        return f"{said} ({words}): pass the key with --api-key or EMBLOAD_API_KEY"
    if _no_route(status, body):
        elsewhere = _answering_route(client, target)
        if elsewhere is not None:
            base = elsewhere.host + (elsewhere.prefix or "/")
            hint = f" --dialect {elsewhere.dialect}" if elsewhere.dialect != "openai" else ""
            return (
                f"{said}: no embeddings route there; the server answers at "
                f"{elsewhere.embeddings_path}: use --target {base}{hint}"
            )
        return f"{said}: no embeddings route there; give the route with --target"
    if status >= 400 and "model" in (words or "").lower():
        return f"{said} ({words}): pass a model it serves with --model"
    if kind in (ErrorKind.INVALID_RESPONSE, ErrorKind.INVALID_VECTOR) and status < 400:
        return (
            f"{said} but not with embeddings in the {target.dialect} dialect ({message}): "
            "name the API with --dialect"
        )
    return f"{said}: {words}"


def _answering_route(client: EmbeddingsClient, target: Target) -> Target | None:
    """Where else on this host an embeddings route answers, for the hint."""
    try:
        return find_route(client, replace(target, probe=True), "hello", None)
    except PreflightFailed:
        return None
