"""The records every other module passes around: one request, and the kinds of error it can end in.

Units are in the names: seconds and counts here; milliseconds appear only in reports.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a request did not count as a success. `None` on a record means it succeeded."""

    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    OOM = "oom"  # the server said it ran out of memory; counted here, not under http_5xx
    RATE_LIMITED = "rate_limited"  # 429
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, closed before a reply
    INVALID_RESPONSE = "invalid_response"  # not JSON, wrong shape, wrong count of vectors
    INVALID_VECTOR = "invalid_vector"  # NaN, Inf, wrong or inconsistent dimension


@dataclass(frozen=True, slots=True)
class Payload:
    """One corpus item: a text with its category and length bucket."""

    text: str
    category: str
    bucket: str


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What happened to one request, as written to records.jsonl."""

    start_time: float  # wall clock, Unix seconds, when the request was sent
    latency_s: float  # perf_counter difference: send to full reply read
    status: int  # HTTP status; 0 when no reply arrived
    error: ErrorKind | None
    error_message: str | None
    inputs: int
    chars: int
    prompt_tokens: int | None  # usage.prompt_tokens as the server reported it
    category: str
    bucket: str
    user: int
    worker: str

    @property
    def ok(self) -> bool:
        return self.error is None


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RequestRecord))

# A RequestRecord's fields in RECORD_FIELDS order. The load path buffers these and writes
# them as they are: a frozen dataclass costs ~2 µs to build, a tuple a tenth of that, and the
# generator's core is the budget (bench/generator.py). `RequestRecord(*row)` gives the record.
RecordRow = tuple[
    float, float, int, ErrorKind | None, str | None, int, int, int | None, str, str, int, str
]
