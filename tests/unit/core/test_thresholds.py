"""--fail-on's grammar and its verdicts against a summary's figures."""

from __future__ import annotations

import pytest

from loadtest.core.errors import ThresholdError
from loadtest.core.results import Figures, LatencyMs
from loadtest.core.thresholds import crossed_line, parse_thresholds


def figures(p99_ms: float | None = 120.0, error_rate: float = 0.002, qps: float = 150.0) -> Figures:
    lat = {k: None if p99_ms is None else p99_ms / 2 for k in ("p50", "p90", "p999", "max", "mean")}
    return Figures(
        requests=1000,
        ok=998,
        errors={},
        error_rate=error_rate,
        qps=qps,
        inputs_per_s=qps,
        tokens_per_s=None,
        latency_ms=LatencyMs(**{**lat, "p99": p99_ms}),
    )


def test_units_become_the_summary_units() -> None:
    got = parse_thresholds("p99<200ms, p50 <= 0.05s,error_rate<0.1%,qps>100,p90<80")
    assert [(t.metric, t.op, t.limit) for t in got] == [
        ("p99", "<", 200.0),
        ("p50", "<=", 50.0),
        ("error_rate", "<", 0.001),
        ("qps", ">", 100.0),
        ("p90", "<", 80.0),  # a bare latency is in ms
    ]
    assert got[0].text == "p99<200ms"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99 200ms", "is not METRIC<LIMIT"),
        ("p98<200ms", "unknown metric 'p98'"),
        ("p99<2%", "a latency takes ms or s"),
        ("error_rate<3ms", "an error rate takes % or a fraction"),
        ("qps>10%", "qps is a plain number per second"),
        (" , ", "no threshold given"),
    ],
)
def test_a_bad_threshold_is_named(text: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        parse_thresholds(text)


def test_verdicts_against_the_figures() -> None:
    gates = parse_thresholds("p99<200ms,error_rate<0.1%,qps>100")
    verdicts = [t.check(figures()) for t in gates]
    assert [v.held for v in verdicts] == [True, False, True]  # 0.2% errors > 0.1%
    assert crossed_line(verdicts[1]) == "error_rate<0.1% (error rate was 0.20%)"
    (p99,) = [t.check(figures(p99_ms=250.0)) for t in parse_thresholds("p99<0.2s")]
    assert not p99.held and crossed_line(p99) == "p99<0.2s (P99 was 250.0 ms)"


def test_missing_figures_never_pass() -> None:
    # every request failed: no latency to measure, so a latency gate is crossed, not skipped
    (verdict,) = [t.check(figures(p99_ms=None)) for t in parse_thresholds("p99<10s")]
    assert verdict.value is None and not verdict.held
    assert "no successful request" in crossed_line(verdict)
