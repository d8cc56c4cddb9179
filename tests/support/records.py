"""Records and summaries of known data, built through embload's own constructors."""

from __future__ import annotations

from loadtest.core.columns import RecordColumns
from loadtest.core.record import RecordRow
from loadtest.core.results import RunMeta, RunSummary
from loadtest.core.stats import summarize
from loadtest.core.telemetry import Telemetry
from loadtest.core.types import ErrorKind

META = RunMeta.model_validate(
    {
        "scenario": "peak",
        "target": "http://127.0.0.1:1/v1",
        "model": "m",
        "users": 2,
        "inputs_per_request": 1,
        "encoding_format": "base64",
        "dimensions": None,
        "seed": 0,
        "corpus": "builtin",
        "instruction": None,
        "extra_headers": [],
        "started_at": "2026-11-23T10:00:00+00:00",
        "started_at_unix": 100.0,
        "embload_version": "0.1.0",
        "server_model": None,
        "environment": {
            "python": "3.11",
            "platform": "linux",
            "host": "h",
            "cpus": 2,
            "embload": "0.1.0",
            "packages": {"locust": "2.47.0"},
        },
    }
)


def rec(
    latency_s: float,
    error: ErrorKind | None = None,
    category: str = "zh",
    tokens: int | None = 10,
    inputs: int = 1,
    start: float = 100.0,
) -> RecordRow:
    """One request: a success unless `error`, whose message names its kind."""
    return RecordRow(
        start,
        latency_s,
        200 if error is None else 500,
        error,
        None if error is None else f"boom {error.value}",
        inputs,
        20,
        tokens,
        category,
        "short",
        0,
        "local",
    )


def summary(records: list[RecordRow], duration_s: float = 2.0, **meta: object) -> RunSummary:
    """The summary of `records` over `duration_s`, META's fields updated with `meta`."""
    return summarize(
        RecordColumns.from_records(records),
        Telemetry(oom_threshold=0.95),
        META.model_copy(update=meta),
        duration_s=duration_s,
        load_start=100.0,
    )
