"""Side-by-side verdicts: is B really different from A, per metric, with a 95% interval?

Pure numpy, seeded by the caller. The figures compared are the ones METRICS defines, computed as
a run's summary computes them (stats.py): percentiles over successful requests, rates over the
load's duration, the error rate over requests. Only their intervals come from here, by the block
bootstrap of blocks.py: one-second windows, never single requests, are what is resampled. Latency
and rate intervals are of the relative difference B/A - 1 (computed on the log scale, where a
ratio's error is symmetric); the error rate's is of B - A in percentage points, so a side going
from no errors to some is a difference like any other. A verdict names the better side only when
the whole interval says so, and none is given from fewer than MIN_WINDOWS windows a side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadtest.core.blocks import (
    MIN_WINDOWS,
    RESAMPLES,
    block_length,
    blocks,
    interval,
    thin,
    weighted_quantiles,
    weighted_ratio,
    window_weights,
)
from loadtest.core.columns import RecordColumns
from loadtest.core.comparisons import Difference, ScenarioComparison
from loadtest.core.results import METRICS
from loadtest.core.stats import rate

_LATENCIES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))
_RATES = ("qps", "inputs_per_s", "tokens_per_s")


@dataclass(frozen=True)
class SideData:
    """One side's requests as the statistics see them (one run, or pooled ABBA halves)."""

    latency_s: np.ndarray  # of successful requests
    window: np.ndarray  # the one-second window each of them completed in
    ok_per_window: np.ndarray  # successful requests completed in each window
    inputs_per_window: np.ndarray
    tokens_per_window: np.ndarray
    requests_per_window: np.ndarray  # all requests, failed ones included
    failed_per_window: np.ndarray
    duration_s: float  # the load's wall-clock duration, the rates' divisor
    tokens_reported: bool  # whether the server sent usage.prompt_tokens

    @property
    def windows(self) -> int:
        return int(self.ok_per_window.size)

    @property
    def requests(self) -> int:
        return int(self.requests_per_window.sum())

    @property
    def failed(self) -> int:
        return int(self.failed_per_window.sum())

    def drift_series(self) -> np.ndarray:
        """Each window's mean log latency (the run's mean where a window has no success): how
        far its autocorrelation reaches sets the bootstrap's block length."""
        if self.latency_s.size == 0:
            return np.zeros(self.windows)
        logs = np.bincount(self.window, np.log(self.latency_s), minlength=self.windows)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = logs / self.ok_per_window
        return np.where(self.ok_per_window > 0, mean, float(np.log(self.latency_s).mean()))

    def per_window(self, metric: str) -> np.ndarray:
        return {"qps": self.ok_per_window, "inputs_per_s": self.inputs_per_window}.get(
            metric, self.tokens_per_window
        )

    def rate(self, metric: str) -> float | None:
        """QPS, inputs/s or tokens/s as METRICS defines them."""
        if metric == "tokens_per_s" and not self.tokens_reported:
            return None
        return rate(float(self.per_window(metric).sum()), self.duration_s)


def side_data(cols: RecordColumns, t0: float, duration_s: float) -> SideData:
    """A run as the statistics see it: requests in one-second windows by completion time; a last
    partial second joins the window before it, so it is neither lost nor a slow second."""
    n = max(1, int(np.floor(duration_s)))
    window = np.clip(np.floor(cols.start_time + cols.latency_s - t0), 0, n - 1).astype(np.int64)
    ok = cols.ok
    tokens = np.nan_to_num(cols.prompt_tokens)

    def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(window[mask], weights=w, minlength=n).astype(np.float64)

    return SideData(
        latency_s=cols.latency_s[ok],
        window=window[ok],
        ok_per_window=count(ok),
        inputs_per_window=count(ok, cols.inputs.astype(np.float64)),
        tokens_per_window=count(ok, tokens),
        requests_per_window=count(np.ones_like(ok)),
        failed_per_window=count(~ok),
        duration_s=duration_s,
        tokens_reported=bool(np.isfinite(cols.prompt_tokens[ok]).any()),
    )


def pooled(sides: list[SideData]) -> SideData:
    """The halves of one side of an ABBA run as one sample: windows in sequence."""
    offsets = np.cumsum([0] + [s.windows for s in sides[:-1]])
    return SideData(
        latency_s=np.concatenate([s.latency_s for s in sides]),
        window=np.concatenate([s.window + o for s, o in zip(sides, offsets, strict=True)]),
        ok_per_window=np.concatenate([s.ok_per_window for s in sides]),
        inputs_per_window=np.concatenate([s.inputs_per_window for s in sides]),
        tokens_per_window=np.concatenate([s.tokens_per_window for s in sides]),
        requests_per_window=np.concatenate([s.requests_per_window for s in sides]),
        failed_per_window=np.concatenate([s.failed_per_window for s in sides]),
        duration_s=sum(s.duration_s for s in sides),
        tokens_reported=any(s.tokens_reported for s in sides),
    )


def verdict(metric: str, ratio: float, low: float, high: float, names: tuple[str, str]) -> str:
    """Who is better and by how much, when the interval of B/A - 1 ([low, high]) excludes 0.

    "Better by X%": for latencies X = 1 - winner/loser (it takes X% less); for rates
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
    word = "faster" if lower_better else "higher"
    winner = names[1] if b_wins else names[0]
    return f"{winner} {word} by {x(ratio):.0%} [{bounds[0]:.0%}, {bounds[1]:.0%}]"


def points_verdict(diff: float, low: float, high: float, names: tuple[str, str]) -> str:
    """The error rate: B - A in percentage points, when [low, high] excludes 0."""
    if low <= 0.0 <= high:
        return "no significant difference"
    winner = names[0] if low > 0 else names[1]
    size = sorted((abs(low) * 100, abs(high) * 100))
    return f"{winner} fewer errors by {abs(diff) * 100:.1f} pp [{size[0]:.1f}, {size[1]:.1f}]"


class _Bootstrap:
    """One comparison's resamples: the same window draws serve every metric of a side. Each
    method gives A's and B's replicates of a statistic (a log, or an error rate) apart."""

    def __init__(self, a: SideData, b: SideData, seed: int, level: float) -> None:
        self.a, self.b, self.level = a, b, level
        self.rng = np.random.default_rng(seed)
        la, lb = (block_length(s.drift_series()) for s in (a, b))
        self.wa = window_weights(a.windows, la, RESAMPLES, self.rng)
        self.wb = window_weights(b.windows, lb, RESAMPLES, self.rng)
        self.k = (blocks(a.windows, la), blocks(b.windows, lb))

    def _sides(self) -> tuple[tuple[SideData, np.ndarray], tuple[SideData, np.ndarray]]:
        return (self.a, self.wa), (self.b, self.wb)

    def latency(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """log of each side's q-th percentile per resample."""
        qa, qb = (
            weighted_quantiles(*thin(s.latency_s, s.window, self.rng), w, q)
            for s, w in self._sides()
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(qa), np.log(qb)

    def rate(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """log of each side's mean per window, per resample."""
        ra, rb = ((w @ s.per_window(metric)) / s.windows for s, w in self._sides())
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(ra), np.log(rb)

    def error_rate(self) -> tuple[np.ndarray, np.ndarray]:
        ea, eb = (
            weighted_ratio(s.failed_per_window, s.requests_per_window, w) for s, w in self._sides()
        )
        return ea, eb


def _none(metric: str, why: str, a: float | None, b: float | None) -> Difference:
    ratio = b / a if a and b is not None else None
    return Difference(metric=metric, a=a, b=b, ratio=ratio, low=None, high=None, verdict=why)


def _relative(
    metric: str,
    va: float,
    vb: float,
    replicates: tuple[np.ndarray, np.ndarray],
    boot: _Bootstrap,
    names: tuple[str, str],
) -> Difference:
    bounds = interval(float(np.log(vb / va)), replicates, boot.k, boot.level)
    if bounds is None:
        return _none(metric, "too few windows with successes for a verdict", va, vb)
    low, high = (float(np.expm1(x)) for x in bounds)
    return Difference(
        metric=metric,
        a=va,
        b=vb,
        ratio=vb / va,
        low=low,
        high=high,
        verdict=verdict(metric, vb / va, low, high, names),
    )


def _too_short(a: SideData, b: SideData) -> bool:
    return a.windows < MIN_WINDOWS or b.windows < MIN_WINDOWS


def _missing(a: SideData, b: SideData, names: tuple[str, str]) -> str | None:
    """Why no latency or rate interval can be had, whatever the metric."""
    if _too_short(a, b):
        return f"too few one-second windows for a verdict (need {MIN_WINDOWS} a side)"
    empty = [n for n, s in zip(names, (a, b), strict=True) if s.latency_s.size == 0]
    if empty:
        return " and ".join(empty) + " had no successful requests"
    return None


def compare_sides(
    a: SideData, b: SideData, names: tuple[str, str], seed: int, level: float = 0.95
) -> list[Difference]:
    """Every metric's difference of B against A, with its interval (at `level`) and verdict.
    Each side's own figure is shown whatever the other side did."""
    boot = _Bootstrap(a, b, seed, level)
    why = _missing(a, b, names)
    out = []
    for metric, q in _LATENCIES:
        va, vb = (
            float(np.percentile(s.latency_s, q)) * 1000 if s.latency_s.size else None
            for s in (a, b)
        )
        if why or va is None or vb is None:
            out.append(_none(metric, why or "no successful requests", va, vb))
        else:
            out.append(_relative(metric, va, vb, boot.latency(q), boot, names))
    for metric in _RATES:
        ra, rb = a.rate(metric), b.rate(metric)
        if ra is None or rb is None:
            out.append(_none(metric, "not reported by the server", ra, rb))
        elif why or not (ra > 0 and rb > 0):
            out.append(_none(metric, why or "no successful requests", ra, rb))
        else:
            out.append(_relative(metric, ra, rb, boot.rate(metric), boot, names))
    ea, eb = a.failed / max(a.requests, 1), b.failed / max(b.requests, 1)
    if a.failed == 0 and b.failed == 0:
        out.append(_none("error_rate", "no errors on either side", ea, eb))
    elif (
        _too_short(a, b)
        or (bounds := interval(eb - ea, boot.error_rate(), boot.k, boot.level)) is None
    ):
        out.append(_none("error_rate", "too few one-second windows for a verdict", ea, eb))
    else:
        low, high = bounds
        out.append(
            Difference(
                metric="error_rate",
                a=ea,
                b=eb,
                ratio=None,
                low=low,
                high=high,
                interval_of="b - a",
                verdict=points_verdict(eb - ea, low, high, names),
            )
        )
    return out


def regressions(scenarios: list[ScenarioComparison], threshold: float) -> list[str]:
    """What makes a candidate worse than the baseline past `threshold` (0.1: 10%, or 10 points
    of error rate): a metric significantly worse by more than it, or no successful request
    where the baseline had some."""
    found = []
    for entry in scenarios:
        baseline_ok = entry.side(entry.baseline).ok
        for versus in entry.versus:
            side = entry.side(versus.candidate)
            if side.ok == 0 < baseline_ok:
                failed = side.requests
                found.append(
                    f"{entry.scenario}: {versus.candidate} had no successful requests "
                    f"({failed} failed)"
                )
            for d in versus.differences:
                if d.low is None or d.high is None:
                    continue
                lower = METRICS[d.metric].lower_is_better
                if d.low > threshold if lower else d.high < -threshold:
                    found.append(f"{entry.scenario} {d.metric}: {d.verdict}")
    return found
