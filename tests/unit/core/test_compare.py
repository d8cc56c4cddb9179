"""The bootstrap and the verdicts on synthetic data where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.compare import (
    SideData,
    compare_sides,
    points_verdict,
    regressions,
    verdict,
)
from loadtest.core.comparisons import Difference
from tests.support.compare import comparison, side


def by_metric(a: SideData, b: SideData, seed: int) -> dict[str, str]:
    return {d.metric: d.verdict for d in compare_sides(a, b, ("A", "B"), seed)}


def test_equal_distributions_are_no_significant_difference_in_at_least_90pct_of_seeds() -> None:
    hits = {m: 0 for m in ("p50", "p90", "p99", "qps", "error_rate")}
    seeds = range(40)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        verdicts = by_metric(side(rng), side(rng), seed)
        for metric in hits:
            hits[metric] += verdicts[metric] == "no significant difference"
    assert all(count >= 0.9 * len(seeds) for count in hits.values()), hits


def parse(text: str) -> tuple[str, float, float, float]:
    """'A faster by 17% [12%, 22%]' -> ('A', 17.0, 12.0, 22.0)."""
    winner, rest = text.split(" ", 1)
    numbers = [
        float(x)
        for x in rest.replace("%", "").replace("[", "").replace("]", "").replace(",", "").split()
        if x.replace(".", "").isdigit()
    ]
    return winner, numbers[0], numbers[1], numbers[2]


def test_a_20pct_shift_is_detected_and_its_size_covered() -> None:
    # B's latencies are 1.2x A's: A takes 1 - 1/1.2 = 16.7% less. A does 50/40 - 1 = 25% more.
    covered = {"p50": 0, "p90": 0, "qps": 0}
    truth = {"p50": 16.7, "p90": 16.7, "qps": 25.0}
    seeds = range(20)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        verdicts = by_metric(side(rng), side(rng, scale=1.2, rate=40.0), seed)
        for metric, want in truth.items():
            winner, _, low, high = parse(verdicts[metric])
            assert winner == "A", verdicts[metric]
            covered[metric] += low <= want <= high
    # Detected every time; the 95% intervals hold the true size nearly as often as they should
    # (percentile bootstraps of quantiles run a little narrow: 90% measured over 60 seeds).
    assert all(count >= 0.8 * len(seeds) for count in covered.values()), covered
    rng = np.random.default_rng(99)
    assert parse(by_metric(side(rng, scale=1.2), side(rng), 99)["p50"])[0] == "B"


@pytest.mark.parametrize(
    ("metric", "ratio", "low", "high", "text"),
    [
        ("p50", 0.69, -0.38, -0.24, "B faster by 31% [24%, 38%]"),
        ("p50", 1.25, 0.20, 0.30, "A faster by 20% [17%, 23%]"),
        ("qps", 1.25, 0.20, 0.30, "B higher by 25% [20%, 30%]"),
        ("qps", 0.8, -0.25, -0.15, "A higher by 25% [18%, 33%]"),
        ("p99", 1.01, -0.02, 0.05, "no significant difference"),
    ],
)
def test_verdict_wording(metric: str, ratio: float, low: float, high: float, text: str) -> None:
    assert verdict(metric, ratio, low, high, ("A", "B")) == text


@pytest.mark.parametrize(
    ("diff", "low", "high", "text"),
    [
        (0.2, 0.15, 0.25, "A fewer errors by 20.0 pp [15.0, 25.0]"),
        (-0.012, -0.02, -0.004, "B fewer errors by 1.2 pp [0.4, 2.0]"),
        (0.01, -0.01, 0.03, "no significant difference"),
    ],
)
def test_error_rate_verdicts_are_in_points(diff: float, low: float, high: float, text: str) -> None:
    assert points_verdict(diff, low, high, ("A", "B")) == text


def test_point_values_are_the_summary_definitions() -> None:
    # QPS is successes over the load's duration (METRICS), a last partial second included.
    rng = np.random.default_rng(3)
    a = side(rng)
    b = side(np.random.default_rng(3), seconds=60.5)
    diffs = {d.metric: d for d in compare_sides(a, b, ("A", "B"), 0)}
    assert diffs["qps"].a == pytest.approx(a.latency_s.size / 60.0)
    assert diffs["qps"].b == pytest.approx(b.latency_s.size / 60.5)
    assert diffs["p50"].a == pytest.approx(float(np.percentile(a.latency_s, 50)) * 1000)
    assert diffs["error_rate"].a == pytest.approx(a.failed / a.requests)


def test_regression_gate_flags_only_what_is_significantly_worse_than_the_threshold() -> None:
    rng = np.random.default_rng(5)
    a, slower = side(rng), side(rng, scale=2.0)
    entry = comparison(*compare_sides(a, slower, ("A", "B"), 5))
    found = regressions([entry], 0.10)
    assert any(f.startswith("peak p50: A faster by") for f in found), found
    assert not any("qps" in f for f in found)  # same rate: no regression there
    same = comparison(*compare_sides(a, a, ("A", "B"), 5))
    assert regressions([same], 0.0) == []
    # Worse, but by less than the threshold: B/A - 1 in [5%, 8%] is not past 10%.
    mild = Difference(metric="p99", a=10.0, b=10.6, ratio=1.06, low=0.05, high=0.08, verdict="v")
    assert regressions([comparison(mild)], 0.10) == []
    assert regressions([comparison(mild)], 0.04) == ["peak p99: v"]
    # Rates: lower is worse.
    fewer = Difference(metric="qps", a=10.0, b=8.0, ratio=0.8, low=-0.25, high=-0.15, verdict="q")
    assert regressions([comparison(fewer)], 0.10) == ["peak qps: q"]


def test_a_side_failing_every_request_is_a_regression_and_a_keeps_its_figures() -> None:
    rng = np.random.default_rng(8)
    good, bad = side(rng), side(rng, error_rate=1.0)
    diffs = {d.metric: d for d in compare_sides(good, bad, ("good", "bad"), 8)}
    for metric in ("p50", "p99", "qps"):
        assert diffs[metric].a is not None and diffs[metric].a > 0, diffs[metric]
        assert diffs[metric].low is None
    assert diffs["p50"].b is None and diffs["qps"].b == 0.0
    errors = diffs["error_rate"]
    assert errors.interval_of == "b - a" and errors.b == 1.0
    assert errors.verdict.startswith("good fewer errors by 9"), errors.verdict  # 99 points
    found = regressions([comparison(*diffs.values(), a=good, b=bad)], 0.10)
    assert found[0].startswith("peak: B had no successful requests"), found
    assert any(f.startswith("peak error_rate: good fewer errors") for f in found), found
    # the other way round, B is the better side: nothing to flag
    flipped = compare_sides(bad, good, ("bad", "good"), 8)
    assert regressions([comparison(*flipped, a=bad, b=good)], 0.10) == []


def test_an_error_rate_worse_by_more_points_than_the_threshold_is_a_regression() -> None:
    rng = np.random.default_rng(9)
    a, b = side(rng, error_rate=0.0), side(rng, error_rate=0.2)
    diffs = compare_sides(a, b, ("A", "B"), 9)
    errors = next(d for d in diffs if d.metric == "error_rate")
    assert errors.low is not None and errors.low > 0.15, errors  # in points: 0.2 - 0
    flagged = f"peak error_rate: {errors.verdict}"
    assert flagged in regressions([comparison(*diffs, a=a, b=b)], 0.10)
    assert flagged not in regressions([comparison(*diffs, a=a, b=b)], 0.30)  # 20 points < 30


def test_too_little_data_says_so() -> None:
    rng = np.random.default_rng(0)
    short = side(rng, seconds=2.0, error_rate=0.0)
    verdicts = {d.metric: d.verdict for d in compare_sides(short, short, ("A", "B"), 0)}
    assert verdicts["p50"].startswith("too few one-second windows")
    assert verdicts["qps"].startswith("too few one-second windows")
    assert verdicts["error_rate"] == "no errors on either side"
