"""The figures of a test while it runs, for Locust's web UI: percentiles per category, in
bounded memory.

Locust's own table rounds each response time into buckets (to two significant figures above
100 ms) before its percentiles. This one keeps every successful request's latency, exactly as
a run's summary computes them (stats.latency_ms), until a category has EXACT_UP_TO of them
(8 bytes each); past that, a log-spaced histogram whose buckets are RELATIVE_ERROR wide, so an
hour at thousands of requests a second holds a few tens of kilobytes per category, not
gigabytes. Counts stay exact; percentiles then carry at most that relative error. When the test
stops, the tab shows the run's summary instead: exact (loadgen/web_tab.py).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

import numpy as np

from loadtest.core.record import RecordRow
from loadtest.core.results import LatencyMs
from loadtest.core.stats import PERCENTILES, latency_ms

ALL = "all"
EXACT_UP_TO = 100_000  # latencies a category keeps exactly before its histogram takes over
RELATIVE_ERROR = 0.001  # a bucket's width, relative: percentiles within 0.1% past the cap
_LOWEST_S = 1e-6  # the first bucket's lower edge: a microsecond
_LOG_STEP = math.log1p(RELATIVE_ERROR)


class _Latencies:
    """One category's successful latencies: exact, then a histogram (bounded)."""

    def __init__(self) -> None:
        self.exact: array[float] | None = array("d")
        self.counts: dict[int, int] = {}  # bucket -> requests (a sparse histogram)
        self.n = 0
        self.max_s = self.sum_s = 0.0

    def add(self, latency_s: float) -> None:
        self.n += 1
        self.sum_s += latency_s
        self.max_s = max(self.max_s, latency_s)
        if self.exact is not None:
            self.exact.append(latency_s)
            if len(self.exact) > EXACT_UP_TO:
                for value in self.exact:
                    self._count(value)
                self.exact = None
            return
        self._count(latency_s)

    def _count(self, latency_s: float) -> None:
        bucket = int(math.log(max(latency_s, _LOWEST_S) / _LOWEST_S) / _LOG_STEP)
        self.counts[bucket] = self.counts.get(bucket, 0) + 1


def _figures(parts: list[_Latencies]) -> tuple[int, LatencyMs]:
    """Requests and latency figures of several categories' latencies together."""
    n = sum(p.n for p in parts)
    if all(p.exact is not None for p in parts):
        buffers = [np.frombuffer(p.exact, dtype=np.float64) for p in parts if p.exact]
        return n, latency_ms(np.concatenate(buffers) if buffers else np.empty(0))
    counts: dict[int, int] = {}
    for p in parts:
        for value in p.exact or ():
            b = int(math.log(max(value, _LOWEST_S) / _LOWEST_S) / _LOG_STEP)
            counts[b] = counts.get(b, 0) + 1
        for b, c in p.counts.items():
            counts[b] = counts.get(b, 0) + c
    buckets = np.array(sorted(counts))
    cumulative = np.cumsum([counts[b] for b in buckets])
    mid_s = _LOWEST_S * np.exp((buckets + 0.5) * _LOG_STEP)  # a bucket's geometric middle

    def at(pct: float) -> float:
        i = int(np.searchsorted(cumulative, math.ceil(pct / 100 * n)))
        return float(mid_s[min(i, mid_s.size - 1)]) * 1000

    mean = sum(p.sum_s for p in parts) / n * 1000
    quantiles = {name: at(pct) for name, pct in PERCENTILES.items()}
    return n, LatencyMs(**quantiles, max=max(p.max_s for p in parts) * 1000, mean=mean)


class LiveFigures:
    """Per category: its successful latencies and the count of failed requests."""

    def __init__(self) -> None:
        self._ok: dict[str, _Latencies] = {}
        self._failed: dict[str, int] = {}

    def add(self, rows: Iterable[RecordRow]) -> None:
        for row in rows:
            if row.warmup:
                continue  # left out of every figure, as the summary leaves it
            category = row.category
            if row.error is None:
                found = self._ok.get(category)
                if found is None:
                    found = self._ok[category] = _Latencies()
                found.add(row.latency_s)
            else:
                self._failed[category] = self._failed.get(category, 0) + 1

    def table(self) -> list[dict[str, str | int]]:
        """A row per category and one for all: requests, failed, P50/P90/P99/P99.9/max in ms;
        none before the first record."""
        categories = sorted(set(self._ok) | set(self._failed))
        if not categories:
            return []
        rows = []
        for c in categories:
            n, lat = _figures([self._ok[c]] if c in self._ok else [])
            rows.append(table_row(c, n, self._failed.get(c, 0), lat))
        if len(categories) != 1:
            n, lat = _figures(list(self._ok.values()))
            rows.append(table_row(ALL, n, sum(self._failed.values()), lat))
        else:
            rows.append({**rows[0], "name": ALL})
        return rows


def table_row(name: str, ok: int, failed: int, lat: LatencyMs) -> dict[str, str | int]:
    """The tab's row: counts, and latencies in ms to two decimals."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    return {
        "name": name,
        "requests": ok + failed,
        "failed": failed,
        "p50": ms(lat.p50),
        "p90": ms(lat.p90),
        "p99": ms(lat.p99),
        "p999": ms(lat.p999),
        "max": ms(lat.max),
    }
