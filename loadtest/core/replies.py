"""Classify a reply by its status and body: which ErrorKind, and a one-line message for people.

The out-of-memory patterns cover what PyTorch, TEI, vLLM, sglang and the bundled server say.
"""

from __future__ import annotations

import json
import re

from loadtest.core.types import ErrorKind

_OOM = re.compile(
    r"out[ _-]?of[ _-]?memory|outofmemory|\boom\b|(?:cannot|can't|could not) allocate memory"
    r"|memoryerror"
    r"|failed to allocate|cudaErrorMemoryAllocation",
    re.IGNORECASE,
)
_MESSAGE_CHARS = 300


def error_message(body: bytes) -> str:
    """The server's own words: `error.message` (OpenAI), `message` (TEI), `detail` (FastAPI)."""
    text = body.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return one_line(text) or "(empty body)"
    for candidate in _message_candidates(doc):
        if isinstance(candidate, str) and candidate:
            return one_line(candidate)
    return one_line(text)


def _message_candidates(doc: object) -> list[object]:
    if not isinstance(doc, dict):
        return []
    err = doc.get("error")
    nested = err.get("message") if isinstance(err, dict) else err
    detail = doc.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        detail = detail[0].get("msg")
    return [nested, doc.get("message"), detail]


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MESSAGE_CHARS else flat[: _MESSAGE_CHARS - 1] + "…"


def classify_status(status: int, body: bytes) -> tuple[ErrorKind | None, str | None]:
    """The error kind of a reply; (None, None) for a 2xx, whose body is checked next."""
    if 200 <= status < 300:
        return None, None
    message = f"HTTP {status}: {error_message(body)}"
    if status == 429:
        return ErrorKind.RATE_LIMITED, message
    if status >= 400 and _OOM.search(body.decode("utf-8", errors="replace")):
        return ErrorKind.OOM, message
    if status >= 500:
        return ErrorKind.HTTP_5XX, message
    if status >= 400:
        return ErrorKind.HTTP_4XX, message
    return ErrorKind.INVALID_RESPONSE, message


def timed_out(timeout_s: float) -> tuple[ErrorKind, str]:
    """A request with no reply within its timeout: the same kind and words on every path (the
    load path's geventhttpclient and the httpx client alike)."""
    return ErrorKind.TIMEOUT, f"no reply within the {timeout_s:g} s timeout"
