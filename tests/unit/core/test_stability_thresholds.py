"""--fail-on's soak metrics: memory growth per hour and P99 drift, checked against a Stability."""

from __future__ import annotations

import pytest

from loadtest.core.errors import ThresholdError
from loadtest.core.results import Figures, LatencyMs
from loadtest.core.stability import METHOD, DriftFit, GrowthFit, Stability
from loadtest.core.thresholds import check_all, crossed_line, parse_thresholds

MIB = 1 << 20


def figures() -> Figures:
    lat = dict.fromkeys(("p50", "p90", "p99", "p999", "max", "mean"), 20.0)
    return Figures(
        requests=1000,
        ok=1000,
        errors={},
        error_rate=0.0,
        qps=100.0,
        inputs_per_s=100.0,
        tokens_per_s=None,
        latency_ms=LatencyMs(**lat),
    )


def growth(per_hour_bytes: float | None, verdict: str = "leak_suspected") -> GrowthFit:
    return GrowthFit(
        series="server_rss",
        source="psutil, the server's process tree",
        method="test",
        samples=3600,
        windows=30,
        span_s=1800.0,
        start_s=1.7e9,
        level_bytes=None if per_hour_bytes is None else 500.0 * MIB,
        per_hour_bytes=per_hour_bytes,
        per_hour_low_bytes=per_hour_bytes,  # the interval plays no part in a gate
        per_hour_high_bytes=per_hour_bytes,
        per_request_bytes=None,
        per_request_low_bytes=None,
        per_request_high_bytes=None,
        verdict=verdict,  # type: ignore[arg-type]
        words="test",
    )


def drift(per_hour_pct: float) -> DriftFit:
    return DriftFit(
        windows=30,
        window_s=60.0,
        span_s=1800.0,
        start_s=1.7e9,
        level_s=0.04,
        per_hour_pct=per_hour_pct,
        per_hour_low_pct=per_hour_pct - 2,
        per_hour_high_pct=per_hour_pct + 2,
        verdict="drifting",
        words="test",
    )


def stability(
    server: GrowthFit | None = None, gpu: GrowthFit | None = None, p99: DriftFit | None = None
) -> Stability:
    return Stability(
        server_rss=server,
        gpu_memory=gpu,
        embload_rss=None,
        p99_drift=p99,
        warmup_end_s=1.7e9,
        method=METHOD,
    )


def test_units_become_bytes_and_percent_per_hour() -> None:
    got = parse_thresholds(
        "server_rss_growth<20MiB/h, gpu_memory_growth <= 512 KiB/h,"
        "embload_rss_growth<1.5GiB/h,p99_drift<5%/h,p99<200ms"
    )
    assert [(t.metric, t.op, t.limit) for t in got] == [
        ("server_rss_growth", "<", 20.0 * MIB),
        ("gpu_memory_growth", "<=", 512.0 * 1024),
        ("embload_rss_growth", "<", 1.5 * 1024 * MIB),
        ("p99_drift", "<", 5.0),
        ("p99", "<", 200.0),
    ]
    assert got[1].text == "gpu_memory_growth <= 512 KiB/h"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server_rss_growth<20", "server_rss_growth takes KiB/h, MiB/h or GiB/h"),
        ("server_rss_growth<20MB/h", "server_rss_growth takes KiB/h, MiB/h or GiB/h"),
        ("gpu_memory_growth<20MiB", "gpu_memory_growth takes KiB/h, MiB/h or GiB/h"),
        ("embload_rss_growth<2%/h", "e.g. embload_rss_growth<20MiB/h"),
        ("p99_drift<5", "p99_drift takes %/h, e.g. p99_drift<5%/h"),
        ("p99_drift<5%", "p99_drift takes %/h"),
        ("p99_drift<5MiB/h", "p99_drift takes %/h"),
        ("p99<5%/h", "a latency takes ms or s"),
        ("qps>10MiB/h", "qps is a plain number per second"),
        ("rss_growth<1MiB/h", "unknown metric 'rss_growth'"),
    ],
)
def test_a_bad_unit_is_named(text: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        parse_thresholds(text)


def test_an_unknown_metric_lists_the_soak_metrics_too() -> None:
    with pytest.raises(ThresholdError) as error:
        parse_thresholds("leak<1MiB/h")
    for name in ("server_rss_growth", "gpu_memory_growth", "embload_rss_growth", "p99_drift"):
        assert name in str(error.value)
    assert "p99, p999" in str(error.value)


def test_verdicts_against_a_stability() -> None:
    gates = parse_thresholds("server_rss_growth<20MiB/h,p99_drift<5%/h,p99<100ms")
    soak = stability(server=growth(41.2 * MIB), p99=drift(3.0))
    verdicts = check_all(gates, figures(), stability=soak)
    assert [v.held for v in verdicts] == [False, True, True]
    assert verdicts[0].value == 41.2 * MIB and verdicts[0].limit == 20 * MIB
    assert verdicts[1].value == 3.0
    assert crossed_line(verdicts[0]) == (
        "server_rss_growth<20MiB/h (server RSS growth was 41.2 MiB/h)"
    )
    (kib,) = check_all(parse_thresholds("server_rss_growth<500KiB/h"), figures(), stability=soak)
    assert crossed_line(kib) == "server_rss_growth<500KiB/h (server RSS growth was 42,188.8 KiB/h)"
    (p99,) = check_all(parse_thresholds("p99_drift<1%/h"), figures(), stability=soak)
    assert not p99.held and crossed_line(p99) == "p99_drift<1%/h (P99 drift was 3.0%/h)"
    # a shrinking series holds a growth ceiling
    (down,) = check_all(
        parse_thresholds("server_rss_growth<1MiB/h"),
        figures(),
        stability=stability(server=growth(-30.0 * MIB, "shrinking")),
    )
    assert down.held


def test_missing_or_too_little_data_never_passes() -> None:
    gates = parse_thresholds("server_rss_growth<20MiB/h,gpu_memory_growth<1GiB/h,p99_drift<5%/h")
    soak = stability(server=growth(None, "too_little_data"))
    verdicts = check_all(gates, figures(), stability=soak)
    assert [(v.value, v.held) for v in verdicts] == [(None, False)] * 3
    assert crossed_line(verdicts[0], stability=soak) == (
        "server_rss_growth<20MiB/h (server RSS growth: too little data to measure)"
    )
    assert crossed_line(verdicts[1], stability=soak) == (
        "gpu_memory_growth<1GiB/h (GPU memory growth: not measured in this run)"
    )
    assert "P99 drift: not measured, or too little data" in crossed_line(verdicts[2])
    # a caller that has only figures, as before: the soak gates cross, the others still work
    plain = check_all(parse_thresholds("p99<100ms,server_rss_growth<20MiB/h"), figures())
    assert [v.held for v in plain] == [True, False]
