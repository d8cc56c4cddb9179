"""Exact statistics on data whose answers are worked out by hand, and the typed summary."""

from __future__ import annotations

import json

import jsonschema
import pytest

from loadtest.core.columns import RecordColumns, concat
from loadtest.core.record import NO_CLOCK, RecordRow
from loadtest.core.results import Figures, RunSummary
from loadtest.core.stats import (
    cost,
    error_samples,
    figures,
    latency_ms,
    rate,
    server_time,
    summarize,
)
from loadtest.core.telemetry import Telemetry
from loadtest.core.types import ErrorKind, OomKind
from tests.support.records import META, rec


def test_percentiles_by_hand() -> None:
    # 1..10 ms. Linear interpolation: rank = q/100 * (n - 1) over the sorted values, so
    # P50 at rank 4.5 is 5.5 ms, P90 at 8.1 is 9.1, P99 at 8.91 is 9.91, P99.9 at 8.991 9.991.
    got = latency_ms([i / 1000 for i in range(10, 0, -1)])  # order must not matter
    assert got.p50 == pytest.approx(5.5)
    assert got.p90 == pytest.approx(9.1)
    assert got.p99 == pytest.approx(9.91)
    assert got.p999 == pytest.approx(9.991)
    assert (got.max, got.mean) == (pytest.approx(10.0), pytest.approx(5.5))


def test_one_slow_request_moves_p99_not_p50() -> None:
    # 99 requests of 10 ms and one of 2 s: P50 stays 10, P99 sits at rank 98.01, a hundredth
    # of the way from 10 to 2000 ms, and the mean shows the tail.
    got = latency_ms([0.010] * 99 + [2.0])
    assert got.p50 == pytest.approx(10.0)
    assert got.p99 == pytest.approx(10 + 0.01 * 1990)
    assert got.mean == pytest.approx((99 * 10 + 2000) / 100)


def test_sub_millisecond_latencies_keep_their_resolution() -> None:
    # Locust would report all of these as 0 or 1 ms; the records keep microseconds.
    got = latency_ms([0.000_250, 0.000_500, 0.000_750])
    assert got.p50 == pytest.approx(0.5)
    assert got.max == pytest.approx(0.75)


def test_no_samples_gives_nulls_not_zeros() -> None:
    assert set(latency_ms([]).model_dump().values()) == {None}
    assert rate(10, 0.0) == 0.0


def test_summary_counts_rates_and_groups() -> None:
    records = [
        rec(0.010, tokens=12),
        rec(0.020, category="en", tokens=8, inputs=2),
        rec(0.500, ErrorKind.OOM),
        rec(0.001, ErrorKind.RATE_LIMITED, category="en"),
    ]
    s = summarize(
        RecordColumns.from_records(records),
        Telemetry(oom_threshold=0.95),
        meta=META,
        duration_s=2.0,
        load_start=100.0,
    )
    assert s.scenario == "peak" and s.schema_version == 1
    assert (s.requests, s.ok, s.error_rate) == (4, 2, 0.5)
    assert s.errors[ErrorKind.OOM] == 1 and s.errors[ErrorKind.RATE_LIMITED] == 1
    assert s.errors[ErrorKind.HTTP_5XX] == 0  # every kind listed, OOM not double counted
    assert s.qps == pytest.approx(1.0)  # successes only: 2 over 2 s
    assert s.inputs_per_s == pytest.approx(1.5)  # 1 + 2 texts over 2 s
    assert s.tokens_per_s == pytest.approx(10.0)  # 12 + 8 tokens over 2 s
    # errors never enter the latency figures: the 500 ms OOM reply is not the max
    assert s.latency_ms.max == pytest.approx(20.0)
    assert s.by_category["en"].requests == 2 and s.by_category["en"].qps == pytest.approx(0.5)
    assert s.by_category["zh"].latency_ms.p50 == pytest.approx(10.0)
    assert s.error_samples == {
        ErrorKind.OOM: ["boom oom"],
        ErrorKind.RATE_LIMITED: ["boom rate_limited"],
    }
    (event,) = s.oom_events  # the OOM reply is an event of its own
    assert event.kind is OomKind.OOM_RESPONSE and event.time == pytest.approx(100.5)
    assert s.gpu is None and s.gpu_unavailable == "no GPU samples"


def test_tokens_per_s_is_null_when_the_server_reports_no_usage() -> None:
    summary = summarize(
        RecordColumns.from_records([rec(0.01, tokens=None)]),
        Telemetry(oom_threshold=0.95),
        meta=META,
        duration_s=1.0,
        load_start=100.0,
    )
    assert summary.tokens_per_s is None


def test_summary_round_trips_through_its_json_and_schema() -> None:
    records = [rec(0.01), rec(0.2, ErrorKind.TIMEOUT), rec(0.03, category="code")]
    s = summarize(
        RecordColumns.from_records(records),
        Telemetry(oom_threshold=0.9),
        meta=META,
        duration_s=3,
        load_start=100,
    )
    text = s.model_dump_json()
    assert RunSummary.model_validate_json(text) == s
    doc = json.loads(text)
    jsonschema.validate(doc, RunSummary.model_json_schema())
    assert doc["errors"]["timeout"] == 1 and doc["latency_ms"]["p50"] == pytest.approx(20.0)
    doc["latency_ms"]["p50"] = "fast"  # the schema is a real check, not a formality
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, RunSummary.model_json_schema())


def test_server_time_is_the_servers_clock_and_the_rest_of_the_latency() -> None:
    def rec(latency_s: float, clock: tuple[float, float, float, float] | None) -> RecordRow:
        return RecordRow(
            0.0, latency_s, 200, None, None, 1, 5, 3, "en", "short", 0, "local", None,
            *(clock or NO_CLOCK),
        )  # fmt: skip

    records = [rec(0.010, (0.002, 0.001, 0.004, 0.007)), rec(0.020, (0.004, 0.001, 0.008, 0.013))]
    got = server_time(RecordColumns.from_records([*records, rec(0.5, None)]).timing())
    assert got is not None and got.requests == 2
    assert got.queue.max == pytest.approx(4.0) and got.inference.p50 == pytest.approx(6.0)
    assert got.rest.max == pytest.approx(7.0)  # 20 ms seen, 13 ms of them on the server
    assert server_time(RecordColumns.from_records([rec(0.5, None)]).timing()) is None


def test_cost_is_the_price_of_a_second_over_what_a_second_served() -> None:
    fig = Figures.model_validate(
        {
            "requests": 100,
            "ok": 100,
            "errors": {},
            "error_rate": 0.0,
            "qps": 50.0,
            "inputs_per_s": 400.0,
            "tokens_per_s": 12_000.0,
            "latency_ms": {k: 1.0 for k in ("p50", "p90", "p99", "p999", "max", "mean")},
        }
    )
    c = cost(2.5, fig)
    assert c.usd_per_1m_tokens == pytest.approx(2.5 / 3600 / 12_000 * 1e6)
    assert c.usd_per_1m_inputs == pytest.approx(2.5 / 3600 / 400 * 1e6)
    assert c.usd_per_1m_requests == pytest.approx(2.5 / 3600 / 50 * 1e6)
    # nothing counted, nothing priced
    assert cost(2.5, fig.model_copy(update={"tokens_per_s": None})).usd_per_1m_tokens is None


def test_error_samples_are_the_first_three_distinct_messages_of_each_kind() -> None:
    def failed(kind: ErrorKind, message: str | None) -> RecordRow:
        return RecordRow(1.0, 0.1, 500, kind, message, 1, 5, None, "en", "s", 0, "local")

    t, c = ErrorKind.TIMEOUT, ErrorKind.CONNECTION
    said = [(t, "d"), (c, "x"), (t, "b"), (t, "d"), (t, None), (t, "a"), (t, "c"), (c, "y")]
    samples = error_samples(RecordColumns.from_records([failed(k, m) for k, m in said]))
    assert samples == {t: ["d", "b", "a"], c: ["x", "y"]}


def test_a_compare_side_pools_runs_whose_codes_differ() -> None:
    a = RecordColumns.from_records([rec(0.01, category="zh"), rec(0.02, ErrorKind.OOM, "en")])
    b = RecordColumns.from_records([rec(0.03, category="code"), rec(0.04, category="zh")])
    both = concat([a, b])
    want = [a.record(0), a.record(1), b.record(0), b.record(1)]
    assert [both.record(i) for i in range(4)] == want
    assert both.category.used() == ["code", "en", "zh"]
    assert figures(both, 1.0).requests == 4 and figures(both, 1.0).ok == 3


def test_token_rates_stay_exact_past_what_a_float32_sum_holds() -> None:
    # tokens are kept as float32 (exact below 2**24 each); their sum, 819,100,001, is not
    records = [rec(0.01, tokens=8191) for _ in range(100_000)] + [rec(0.01, tokens=1)]
    assert summarize(
        RecordColumns.from_records(records), Telemetry(0.95), meta=META, duration_s=1.0,
        load_start=100.0,
    ).tokens_per_s == 819_100_001.0  # fmt: skip
