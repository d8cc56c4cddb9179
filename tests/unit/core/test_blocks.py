"""The block bootstrap's calibration on data like a real run's: latencies that drift (AR(1))
on top of noise, cut A B B A. Seeded, so each figure below is the same on every run."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.blocks import block_length, window_weights
from loadtest.core.compare import compare_sides
from loadtest.core.student import t_two_sided
from tests.support.drift import abba

_QUIET = ("no significant", "no errors")


def test_a_a_comparisons_of_a_drifting_server_are_rarely_significant() -> None:
    reps = 120
    significant = {m: 0 for m in ("p50", "p90", "p99", "qps", "inputs_per_s", "tokens_per_s")}
    for rep in range(reps):
        a, b = abba(np.random.default_rng(rep), 10.0)
        for d in compare_sides(a, b, ("A", "B"), rep):
            if d.metric in significant:
                assert d.low is not None, d  # 20 windows a side: always a verdict
                significant[d.metric] += not d.verdict.startswith(_QUIET)
    # nominal 5%; at most 7% allowed
    assert all(count <= 0.07 * reps for count in significant.values()), significant


def test_intervals_hold_the_true_difference_at_nominal_95pct() -> None:
    reps = 100
    covered = {"p50": 0, "p90": 0, "p99": 0}
    detected = 0
    for rep in range(reps):
        a, b = abba(np.random.default_rng(10_000 + rep), 10.0, b_scale=1.3)
        diffs = {d.metric: d for d in compare_sides(a, b, ("A", "B"), rep)}
        for metric in covered:
            d = diffs[metric]
            assert d.low is not None and d.high is not None
            covered[metric] += d.low <= 0.3 <= d.high
        detected += diffs["p50"].verdict.startswith("A faster")
    assert all(count >= 0.93 * reps for count in covered.values()), covered
    assert detected >= 0.8 * reps  # and the intervals are not so wide that they say nothing


def test_requests_resampled_one_by_one_would_not_hold() -> None:
    """Why blocks: the same A/A data, bootstrapped over single requests, calls most of the
    differences significant."""
    rng = np.random.default_rng(1)
    wrong = 0
    for rep in range(30):
        a, b = abba(np.random.default_rng(rep), 10.0)
        qa = np.percentile(rng.choice(a.latency_s, (300, a.latency_s.size)), 50, axis=1)
        qb = np.percentile(rng.choice(b.latency_s, (300, b.latency_s.size)), 50, axis=1)
        low, high = np.percentile(np.log(qb / qa), [2.5, 97.5])
        wrong += not (low <= 0 <= high)
    assert wrong >= 0.3 * 30


def test_too_few_windows_give_no_verdict() -> None:
    a, b = abba(np.random.default_rng(0), 1.6)  # 1 + 1 windows a side
    for d in compare_sides(a, b, ("A", "B"), 0):
        assert d.low is None, d
        if d.metric != "error_rate":  # which has "no errors on either side" to say
            assert "too few one-second windows" in d.verdict, d


def test_block_length_follows_the_autocorrelation() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=400)
    slow = np.convolve(rng.normal(size=440), np.ones(40) / 40, mode="valid")[:400]
    assert block_length(noise) == 20  # the sqrt(n) floor: independent windows
    assert block_length(slow) > 40  # correlated over 40 windows: blocks reach past that


def test_window_weights_draw_every_window_count_once_per_resample() -> None:
    weights = window_weights(10, 3, 500, np.random.default_rng(0))
    assert weights.shape == (500, 10)
    assert (weights.sum(axis=1) == 10).all()
    assert weights.mean() == pytest.approx(1.0, abs=0.05)  # circular: no window favoured


# Published tables of Student's t (two-sided levels), e.g. NIST/SEMATECH's e-Handbook 1.3.6.7.2.
@pytest.mark.parametrize(
    ("level", "df", "t"),
    [
        (0.95, 1, 12.706),
        (0.95, 4, 2.776),
        (0.95, 30, 2.042),
        (0.95, 60, 2.000),
        (0.95, 1e9, 1.960),
        (0.90, 10, 1.812),
        (0.98, 7, 2.998),
        (0.99, 5, 4.032),
        (0.99, 1000, 2.581),
        (0.998, 20, 3.552),
    ],
)
def test_t_quantile(level: float, df: float, t: float) -> None:
    assert t_two_sided(level, df) == pytest.approx(t, abs=2e-3)


def test_t_quantile_of_a_fraction_of_a_degree_is_the_wider_one_below() -> None:
    assert t_two_sided(0.95, 2.7) == t_two_sided(0.95, 2) > t_two_sided(0.95, 3)
