"""The one httpx client of a target, for everything off the load path: model lookup, health,
the quality probe, the bundled server's start, the preflight.

The load path (geventhttpclient under Locust) sends for itself with the same pieces
(target/codec.py); this client checks replies exactly as it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, NamedTuple

import httpx
import numpy as np
from pydantic import BaseModel, ValidationError

from loadtest.core.dialects import SPECS
from loadtest.core.errors import EmbeddingFailed, TargetError, TargetUnreachable
from loadtest.core.replies import timed_out
from loadtest.core.results import ModelCard
from loadtest.core.types import ErrorKind
from loadtest.target.codec import check_reply, encode_request, reply_vectors, request_headers
from loadtest.target.url import Target, redact


def not_http(url: str, exc: httpx.HTTPError) -> TargetError:
    """Something answered, but not as an HTTP server would (a TLS port asked in plain HTTP)."""
    return TargetError(
        f"{redact(url)} did not answer as HTTP ({type(exc).__name__}: {exc}); "
        "check the scheme (http or https) and the port"
    )


class _ModelList(BaseModel):
    data: list[ModelCard]


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
        self.timeout_s = timeout_s
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
        except httpx.HTTPError as exc:
            raise not_http(url, exc) from None

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
        input_type: str | None = None,
    ) -> list[np.ndarray]:
        """One request, checked as the load path checks replies; its vectors in input order."""
        target = self.target
        body = encode_request(texts, model, encoding_format, dimensions, target.dialect, input_type)
        url, shape = target.url, SPECS[target.dialect].shape
        try:
            reply = self._http.post(url, content=body)
        except httpx.TimeoutException:
            kind, words = timed_out(self.timeout_s)
            raise EmbeddingFailed(kind, f"{url}: {words}") from None
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
