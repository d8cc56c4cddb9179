"""The bootstrap and the verdicts on synthetic data where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.compare import Side, compare_sides, verdict


def side(rng: np.random.Generator, n: int, scale: float = 1.0, rate: float = 50.0) -> Side:
    latency = rng.lognormal(np.log(0.05), 0.4, n) * scale
    windows = rng.poisson(rate, 60).astype(float)
    failed = int(rng.binomial(n, 0.01))
    return Side(latency, windows, windows, windows * 30, failed, n)


def by_metric(a: Side, b: Side, seed: int) -> dict[str, str]:
    return {d.metric: d.verdict for d in compare_sides(a, b, ("A", "B"), seed)}


def test_equal_distributions_are_no_significant_difference_in_at_least_90pct_of_seeds() -> None:
    hits = {m: 0 for m in ("p50", "p90", "p99", "qps", "error_rate")}
    seeds = range(40)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        verdicts = by_metric(side(rng, 3000), side(rng, 3000), seed)
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
        verdicts = by_metric(side(rng, 3000), side(rng, 3000, scale=1.2, rate=40.0), seed)
        for metric, want in truth.items():
            winner, _, low, high = parse(verdicts[metric])
            assert winner == "A", verdicts[metric]
            covered[metric] += low <= want <= high
    # Detected every time; the 95% intervals hold the true size nearly as often as they should
    # (percentile bootstraps of quantiles run a little narrow: 90% measured over 60 seeds).
    assert all(count >= 0.8 * len(seeds) for count in covered.values()), covered
    rng = np.random.default_rng(99)
    assert parse(by_metric(side(rng, 3000, scale=1.2), side(rng, 3000), 99)["p50"])[0] == "B"


@pytest.mark.parametrize(
    ("metric", "ratio", "low", "high", "text"),
    [
        ("p50", 0.69, -0.38, -0.24, "B faster by 31% [24%, 38%]"),
        ("p50", 1.25, 0.20, 0.30, "A faster by 20% [17%, 23%]"),
        ("qps", 1.25, 0.20, 0.30, "B higher by 25% [20%, 30%]"),
        ("qps", 0.8, -0.25, -0.15, "A higher by 25% [18%, 33%]"),
        ("p99", 1.01, -0.02, 0.05, "no significant difference"),
        ("error_rate", 0.5, -0.7, -0.3, "B fewer errors by 50% [30%, 70%]"),
    ],
)
def test_verdict_wording(metric: str, ratio: float, low: float, high: float, text: str) -> None:
    assert verdict(metric, ratio, low, high, ("A", "B")) == text


def test_too_little_data_says_so() -> None:
    empty = Side(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), 0, 0)
    verdicts = {d.metric: d.verdict for d in compare_sides(empty, empty, ("A", "B"), 0)}
    assert verdicts["p50"] == "not enough requests" and verdicts["qps"] == "not enough windows"
    assert verdicts["error_rate"] == "no errors on either side"
