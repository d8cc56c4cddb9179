"""`embload trace show`'s figures: exact counts, rates and gaps, approximate quantiles, and the
same few bins for a minute or a day of requests."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.payloads import SCENARIOS
from loadtest.core.trace import TraceRequest
from loadtest.core.trace_shapes import Shape, scenario_mix, synthesize
from loadtest.core.trace_stats import TraceAccumulator, _Histogram, trace_stats

PEAK = scenario_mix(SCENARIOS["peak"])


def test_a_constant_trace_reads_as_its_rate_with_no_burstiness() -> None:
    stats = trace_stats(synthesize(Shape("constant", 20.0, 600.0), PEAK, 0))
    assert stats.requests == 12_000
    assert stats.first_s == 0.0 and stats.span_s == pytest.approx(599.95)
    assert stats.mean_rate_rps == pytest.approx(20.0)
    assert stats.gap_cv == pytest.approx(0.0, abs=1e-6)
    assert 40 <= len(stats.rate_rps) <= 120
    assert stats.rate_rps == pytest.approx([20.0] * len(stats.rate_rps), rel=0.02)
    assert stats.peak_rate_rps == pytest.approx(20.0, rel=0.02)


@pytest.mark.parametrize(
    ("shape", "cv"),
    [(Shape("poisson", 50.0, 300.0), 1.0), (Shape("gamma", 50.0, 300.0, burstiness=0.25), 2.0)],
)
def test_burstiness_is_the_cv_of_the_gaps(shape: Shape, cv: float) -> None:
    stats = trace_stats(synthesize(shape, PEAK, 1))
    assert stats.gap_cv == pytest.approx(cv, abs=0.12)
    assert stats.mean_rate_rps == pytest.approx(50.0, rel=0.1)


@pytest.mark.parametrize("span_s", [0.5, 30.0, 3600.0, 86_400.0 * 7])
def test_the_rate_has_40_to_120_bins_whatever_the_span(span_s: float) -> None:
    acc = TraceAccumulator()
    for i, t in enumerate(np.linspace(0, span_s, 5000)):
        acc.add(TraceRequest(i + 1, float(t), ("x",), None))
    stats = acc.stats()
    assert 40 <= len(stats.rate_rps) <= 120, (span_s, stats.bin_s, len(stats.rate_rps))
    assert stats.bin_s * len(stats.rate_rps) >= span_s
    assert stats.rate_rps == pytest.approx([4999 / span_s] * len(stats.rate_rps), rel=0.05)


def test_lengths_are_tokens_where_lines_give_them_and_chars_of_texts_otherwise() -> None:
    requests = [
        TraceRequest(1, 0.0, ("abc", "de"), None, "en"),
        TraceRequest(2, 1.0, None, (10, 20, 30), "zh"),
        TraceRequest(3, 2.0, ("x" * 5000,), None),
        TraceRequest(4, 3.0, None, (40,), "zh"),
    ]
    stats = trace_stats(requests)
    assert stats.input_chars is not None and stats.input_tokens is not None
    assert (stats.input_chars.count, stats.input_chars.max) == (3, 5000)
    assert stats.input_chars.p50 == 3
    assert (stats.input_tokens.count, stats.input_tokens.p50, stats.input_tokens.max) == (4, 20, 40)
    assert stats.inputs_per_request is not None
    assert stats.inputs_per_request.mean == pytest.approx(7 / 4)
    assert stats.inputs_per_request.max == 3
    assert stats.categories == {"zh": 2, "en": 1, "none": 1}
    only_texts = trace_stats([TraceRequest(1, 0.0, ("abc",), None)])
    assert only_texts.input_tokens is None and only_texts.mean_rate_rps is None


def test_quantiles_are_exact_below_4096_and_within_a_percent_above() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(1, 200_000, 50_000)
    hist = _Histogram()
    small = _Histogram()
    for v in values.tolist():
        hist.add(v)
        small.add(v % 4000)
    for q in (0.5, 0.9, 0.99):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        assert hist.quantile(q) == pytest.approx(exact, rel=0.008)
        assert small.quantile(q) == float(np.quantile(values % 4000, q, method="inverted_cdf"))
    assert hist.max == int(values.max()) and hist.quantile(1.0) == values.max()
    assert len(hist.counts) <= 4096 + 64 * 6  # bins (six doublings past 4,096), not values


def test_memory_stays_a_few_bins_for_a_long_trace() -> None:
    acc = TraceAccumulator()
    for request in synthesize(Shape("poisson", 2000.0, 100.0), PEAK, 3):  # 200,000 requests
        acc.add(request)
    assert len(acc._bins) <= 120
    assert len(acc._tokens.counts) < 1000
    assert acc.stats().requests == pytest.approx(200_000, rel=0.01)


def test_the_last_bin_is_a_rate_over_the_time_it_covers() -> None:
    acc = TraceAccumulator()
    for i in range(1000):  # 10 req/s for 100 s: the last bin covers part of itself
        acc.add(TraceRequest(i + 1, i / 10, ("x",), None))
    stats = acc.stats()
    assert stats.rate_rps[-1] == pytest.approx(10.0, rel=0.05)
    assert min(stats.rate_rps) == pytest.approx(10.0, rel=0.05)
