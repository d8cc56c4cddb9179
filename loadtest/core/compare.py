"""Side-by-side verdicts: is B really different from A, per metric, with a 95% interval?

Pure numpy, seeded by the caller. The figures compared are the ones METRICS defines, computed
as a run's summary computes them (stats.py): percentiles over successful requests, rates over
the load's duration. Only their intervals come from here: latency percentiles bootstrapped over
requests (at most `MAX_SAMPLE` a side, drawn at random: a percentile's interval needs
thousands, not millions); rates over one-second windows, so bursts and stalls count as what
they are; the error rate over requests. Each interval is of the relative difference B/A - 1. A
verdict names the better side only when the whole interval says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadtest.core.results import METRICS, Difference, ScenarioComparison
from loadtest.core.series import RecordColumns
from loadtest.core.stats import rate

RESAMPLES = 1000
MAX_SAMPLE = 20_000
_RATES = ("qps", "inputs_per_s", "tokens_per_s")


@dataclass(frozen=True)
class SideData:
    """One side's requests as the statistics see them (one run, or pooled halves)."""

    latency_s: np.ndarray  # of successful requests
    ok_per_window: np.ndarray  # successful requests completed in each full 1 s window
    inputs_per_window: np.ndarray
    tokens_per_window: np.ndarray
    failed: int
    requests: int
    duration_s: float  # the load's wall-clock duration, the rates' divisor
    ok_inputs: int  # texts of successful requests
    ok_tokens: float  # their usage.prompt_tokens

    def rate(self, metric: str) -> float:
        """QPS, inputs/s or tokens/s as METRICS defines them."""
        count = {"qps": self.latency_s.size, "inputs_per_s": self.ok_inputs}.get(
            metric, self.ok_tokens
        )
        return rate(count, self.duration_s)

    def windows(self, metric: str) -> np.ndarray:
        return {"qps": self.ok_per_window, "inputs_per_s": self.inputs_per_window}.get(
            metric, self.tokens_per_window
        )


def side_data(cols: RecordColumns, t0: float, duration_s: float) -> SideData:
    """A run as the statistics see it: whole 1 s windows only, so a last partial one is not
    counted as a slow second."""
    done = cols.start_time + cols.latency_s - t0
    n = int(np.floor(duration_s))
    window = np.floor(done).astype(np.int64)
    keep = cols.ok & (window >= 0) & (window < n)
    tokens = np.nan_to_num(cols.tokens)
    return SideData(
        latency_s=cols.latency_s[cols.ok],
        ok_per_window=np.bincount(window[keep], minlength=n)[:n].astype(float),
        inputs_per_window=np.bincount(window[keep], weights=cols.inputs[keep], minlength=n)[:n],
        tokens_per_window=np.bincount(window[keep], weights=tokens[keep], minlength=n)[:n],
        failed=int((~cols.ok).sum()),
        requests=len(cols),
        duration_s=duration_s,
        ok_inputs=int(cols.inputs[cols.ok].sum()),
        ok_tokens=float(tokens[cols.ok].sum()),
    )


def pooled(sides: list[SideData]) -> SideData:
    """The halves of one side of an ABBA run as one sample: requests and windows pooled."""
    return SideData(
        latency_s=np.concatenate([x.latency_s for x in sides]),
        ok_per_window=np.concatenate([x.ok_per_window for x in sides]),
        inputs_per_window=np.concatenate([x.inputs_per_window for x in sides]),
        tokens_per_window=np.concatenate([x.tokens_per_window for x in sides]),
        failed=sum(x.failed for x in sides),
        requests=sum(x.requests for x in sides),
        duration_s=sum(x.duration_s for x in sides),
        ok_inputs=sum(x.ok_inputs for x in sides),
        ok_tokens=sum(x.ok_tokens for x in sides),
    )


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.nanpercentile(samples, [2.5, 97.5])
    return float(low), float(high)


def _percentile_diffs(
    a: np.ndarray, b: np.ndarray, q: float, rng: np.random.Generator
) -> np.ndarray:
    a = rng.choice(a, MAX_SAMPLE, replace=False) if a.size > MAX_SAMPLE else a
    b = rng.choice(b, MAX_SAMPLE, replace=False) if b.size > MAX_SAMPLE else b
    qa = np.percentile(rng.choice(a, (RESAMPLES, a.size)), q, axis=1)
    qb = np.percentile(rng.choice(b, (RESAMPLES, b.size)), q, axis=1)
    diffs: np.ndarray = qb / qa - 1.0
    return diffs


def _mean_diffs(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ma = rng.choice(a, (RESAMPLES, a.size)).mean(axis=1)
    mb = rng.choice(b, (RESAMPLES, b.size)).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        diffs: np.ndarray = mb / ma - 1.0
    return diffs


def _error_rate_diffs(a: SideData, b: SideData, rng: np.random.Generator) -> np.ndarray:
    ra = rng.binomial(a.requests, a.failed / a.requests, RESAMPLES) / a.requests
    rb = rng.binomial(b.requests, b.failed / b.requests, RESAMPLES) / b.requests
    with np.errstate(divide="ignore", invalid="ignore"):
        return rb / ra - 1.0


def verdict(metric: str, ratio: float, low: float, high: float, names: tuple[str, str]) -> str:
    """Who is better and by how much, when the interval of B/A - 1 ([low, high]) excludes 0.

    "Better by X%": for latencies and errors X = 1 - winner/loser (it takes X% less); for rates
    X = winner/loser - 1 (X% more). `ratio` (B/A as measured) gives X, the interval its bounds.
    """
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0.0 <= high:
        return "no significant difference"
    lower_better = METRICS[metric].lower_is_better
    b_wins = high < 0 if lower_better else low > 0

    def x(r: float) -> float:  # r = B/A; the better side's advantage
        if lower_better:
            return 1 - r if b_wins else 1 - 1 / r
        return r - 1 if b_wins else 1 / r - 1

    bounds = sorted((x(1 + low), x(1 + high)))
    word = "fewer errors" if metric == "error_rate" else "faster" if lower_better else "higher"
    winner = names[1] if b_wins else names[0]
    return f"{winner} {word} by {x(ratio):.0%} [{bounds[0]:.0%}, {bounds[1]:.0%}]"


def _none(metric: str, verdict: str, a: float | None = None, b: float | None = None) -> Difference:
    return Difference(metric=metric, a=a, b=b, ratio=None, low=None, high=None, verdict=verdict)


def _diff(
    metric: str, va: float, vb: float, samples: np.ndarray, names: tuple[str, str]
) -> Difference:
    low, high = _interval(samples)
    return Difference(
        metric=metric,
        a=va,
        b=vb,
        ratio=vb / va,
        low=low,
        high=high,
        verdict=verdict(metric, vb / va, low, high, names),
    )


def compare_sides(a: SideData, b: SideData, names: tuple[str, str], seed: int) -> list[Difference]:
    """Every metric's difference of B against A, with its interval and verdict."""
    rng = np.random.default_rng(seed)
    out = []
    for metric, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        if a.latency_s.size < 2 or b.latency_s.size < 2:
            out.append(_none(metric, "not enough requests"))
            continue
        va, vb = (float(np.percentile(x.latency_s, q)) * 1000 for x in (a, b))
        out.append(
            _diff(metric, va, vb, _percentile_diffs(a.latency_s, b.latency_s, q, rng), names)
        )
    for metric in _RATES:
        wa, wb = a.windows(metric), b.windows(metric)
        if wa.size < 2 or wb.size < 2 or not wa.any() or not wb.any():
            out.append(_none(metric, "not enough windows"))
            continue
        out.append(_diff(metric, a.rate(metric), b.rate(metric), _mean_diffs(wa, wb, rng), names))
    ra, rb = a.failed / max(a.requests, 1), b.failed / max(b.requests, 1)
    if a.failed == 0 and b.failed == 0:
        out.append(_none("error_rate", "no errors on either side", 0.0, 0.0))
    elif a.failed == 0 or b.failed == 0:
        winner = names[0] if a.failed == 0 else names[1]
        out.append(_none("error_rate", f"only {winner} had none", ra, rb))
    else:
        out.append(_diff("error_rate", ra, rb, _error_rate_diffs(a, b, rng), names))
    return out


def regressions(scenarios: list[ScenarioComparison], threshold: float) -> list[str]:
    """B significantly worse than A by more than `threshold` (0.1 = 10%), per metric."""
    found = []
    for entry in scenarios:
        for d in entry.differences:
            if d.low is None or d.high is None:
                continue
            worse = d.low > threshold if METRICS[d.metric].lower_is_better else d.high < -threshold
            if worse:
                found.append(f"{entry.scenario} {d.metric}: {d.verdict}")
    return found
