"""Exact statistics, held against numpy on known data."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.stats import latency_ms, summarize
from loadtest.core.types import ErrorKind, RequestRecord


def rec(
    latency_s: float,
    error: ErrorKind | None = None,
    category: str = "zh",
    tokens: int = 10,
    inputs: int = 1,
) -> RequestRecord:
    return RequestRecord(
        0.0,
        latency_s,
        200 if error is None else 500,
        error,
        None if error is None else "boom",
        inputs,
        20,
        tokens,
        category,
        "short",
        0,
        "local",
    )


def test_percentiles_match_numpy_on_skewed_data() -> None:
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(mean=-4.5, sigma=0.6, size=10_001)  # ~11 ms, long right tail
    got = latency_ms(latencies)
    ms = latencies * 1000
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
        assert got[key] == pytest.approx(np.percentile(ms, q), rel=1e-12)
    assert got["max"] == pytest.approx(ms.max())
    assert got["mean"] == pytest.approx(ms.mean())


def test_sub_millisecond_latencies_keep_their_resolution() -> None:
    # Locust would report all of these as 0 or 1 ms; the records keep microseconds.
    got = latency_ms([0.000_250, 0.000_500, 0.000_750])
    assert got["p50"] == pytest.approx(0.5)
    assert got["max"] == pytest.approx(0.75)


def test_no_samples_gives_nulls_not_zeros() -> None:
    assert set(latency_ms([]).values()) == {None}


def test_summary_counts_rates_and_groups() -> None:
    records = [
        rec(0.010, tokens=12),
        rec(0.020, category="en", tokens=8, inputs=2),
        rec(0.500, ErrorKind.OOM),
        rec(0.001, ErrorKind.RATE_LIMITED, category="en"),
    ]
    s = summarize(records, duration_s=2.0, meta={"scenario": "peak"})
    assert s["scenario"] == "peak"
    assert (s["requests"], s["ok"]) == (4, 2)
    assert s["errors"]["oom"] == 1 and s["errors"]["rate_limited"] == 1
    assert s["errors"]["http_5xx"] == 0  # every kind listed, OOM not double counted
    assert s["qps"] == pytest.approx(1.0)  # successes only
    assert s["inputs_per_s"] == pytest.approx(1.5)
    assert s["tokens_per_s"] == pytest.approx(10.0)
    # errors never enter the latency figures: the 500 ms OOM reply is not the max
    assert s["latency_ms"]["max"] == pytest.approx(20.0)
    assert s["by_category"]["en"]["requests"] == 2
    assert s["by_category"]["zh"]["latency_ms"]["p50"] == pytest.approx(10.0)
    assert s["error_samples"] == {"oom": ["boom"], "rate_limited": ["boom"]}


def test_tokens_per_s_is_null_when_the_server_reports_no_usage() -> None:
    records = [RequestRecord(0.0, 0.01, 200, None, None, 1, 5, None, "en", "short", 0, "local")]
    assert summarize(records, duration_s=1.0, meta={})["tokens_per_s"] is None
