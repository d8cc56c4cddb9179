"""What keeps the reference server to its own clients and out of a slow client's hands.

- API keys: `--api-key` / EMBLOAD_SERVER_API_KEY (comma-separated for several). Every route
  under /v1 wants `Authorization: Bearer KEY`; /health and /metrics stay open for monitors,
  as vLLM's `--api-key` leaves them. A refusal is OpenAI's 401 `invalid_api_key`.
- Slow clients: a connection has `client_timeout_s` to send a request's headers (uvicorn bounds
  only the idle time between requests), and the app bounds the body the same way (408).
- A warning when the server listens beyond loopback with no key.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from loadtest.config.settings import ServeSettings

_TIMEOUT_REPLY = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)
_TIMEOUT_BODY = (
    b'{"error": {"message": "the request\'s headers did not arrive in time", '
    b'"type": "invalid_request_error", "param": null, "code": "request_timeout"}}'
)


def api_keys(settings: ServeSettings) -> list[bytes]:
    """The keys a client may send; none: the server is open."""
    if settings.api_key is None:
        return []
    keys = settings.api_key.get_secret_value().split(",")
    return [k.strip().encode() for k in keys if k.strip()]


def key_problem(authorization: str | None, keys: list[bytes]) -> str | None:
    """Why a request may not in (OpenAI's words, the key never echoed), or None if it may."""
    if not keys:
        return None
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return (
            "You didn't provide an API key. Send it in an Authorization header using Bearer "
            "auth (Authorization: Bearer YOUR_KEY)."
        )
    given = token.strip().encode()
    # every key compared, in constant time each: no timing says which one came close
    if sum(hmac.compare_digest(given, key) for key in keys) == 0:
        return "Incorrect API key provided."
    return None


def exposed_without_key(settings: ServeSettings) -> bool:
    """Listening beyond loopback with no key: anyone who reaches the port may use it."""
    if settings.api_key is not None:
        return False
    host = settings.host.strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve anywhere
        return True


async def read_within(stream: Any, timeout_s: float, limit: int) -> list[bytes] | None:
    """The body's chunks, or None when the limit is passed; TimeoutError past `timeout_s`."""
    chunks, size = [], 0
    async with asyncio.timeout(timeout_s):
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return chunks


def guarded_protocol(timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, with a bound on the time from a request's first byte (or
    the connection's opening) to the end of its headers: a client that trickles them in, or
    connects and says nothing, gets a 408 and a closed connection."""

    class Guarded(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_REPLY % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))
                self.transport.close()

    return Guarded
