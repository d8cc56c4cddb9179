"""Binned series for the report's charts: per-second windows, a latency CDF, latency by length.

Pure numpy over columns of the records, so a million requests become a few hundred points
before anything is drawn. Times are seconds since the load started; latencies are in ms here,
because only reports use these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadtest.core.columns import RecordColumns

CDF_POINTS = 400
MAX_WINDOWS = 3600
LENGTH_BINS = 24


@dataclass(frozen=True)
class Windows:
    """One entry per window of the run, from its start."""

    width_s: float
    t_s: np.ndarray  # window start, seconds since the load started
    p50_ms: np.ndarray  # NaN in a window with no successful request
    p99_ms: np.ndarray
    ok_per_s: np.ndarray
    errors_per_s: np.ndarray
    active_users: np.ndarray  # users that sent at least one request in the window


def windows(cols: RecordColumns, t0: float, max_windows: int = MAX_WINDOWS) -> Windows:
    """Latency percentiles by the window a request was sent in; throughput by when it finished.

    Windows are 1 s wide, or wider (whole seconds) where the run would need over `max_windows`.
    """
    if not len(cols):
        empty = np.zeros(0)
        return Windows(1.0, empty, empty, empty, empty, empty, empty)
    done_s = cols.start_time + cols.latency_s
    width_s = float(max(1.0, np.ceil(float(done_s.max() - t0) / max_windows)))
    done = _window(done_s, t0, width_s)
    del done_s
    sent = _window(cols.start_time.copy(), t0, width_s)
    n = int(max(sent.max(), done.max())) + 1
    good = cols.ok
    ok_per_s = np.bincount(done[good], minlength=n)[:n] / width_s
    errors_per_s = np.bincount(done[~good], minlength=n)[:n] / width_s
    del done
    p50, p99 = np.full(n, np.nan), np.full(n, np.nan)
    active = np.zeros(n, dtype=np.int64)
    users = int(cols.user.max()) + 1
    # A block of windows at a time, about a million requests each: sorting ten million at once
    # would take as much memory again as the columns.
    ends = np.cumsum(np.bincount(sent, minlength=n))
    first = 0
    while first < n:
        last = max(first + 1, int(np.searchsorted(ends, ends[first] + _BLOCK, side="right")))
        last = min(last, n)
        in_block = (sent >= first) & (sent < last)
        keys, user = sent[in_block], cols.user[in_block]
        pairs = np.unique(keys.astype(np.int64) * users + user)
        active[first:last] = np.bincount(pairs // users - first, minlength=last - first)
        ok = good[in_block]
        keys, lat = keys[ok], cols.latency_s[in_block][ok]
        order = np.argsort(keys, kind="stable")
        keys, lat = keys[order], lat[order]
        bounds = np.searchsorted(keys, np.arange(first, last + 1))
        for w in range(first, last):
            chunk = lat[bounds[w - first] : bounds[w - first + 1]]
            if chunk.size:
                p50[w], p99[w] = np.percentile(chunk, [50, 99]) * 1000
        first = last
    return Windows(width_s, np.arange(n) * width_s, p50, p99, ok_per_s, errors_per_s, active)


_BLOCK = 1 << 20


def _window(times: np.ndarray, t0: float, width_s: float) -> np.ndarray:
    """Each time's window, from 0 (earlier times count in the first); `times` is overwritten."""
    times -= t0
    times /= width_s
    np.floor(times, out=times)
    np.maximum(times, 0, out=times)
    return times.astype(np.int32)


def latency_cdf(latency_s: np.ndarray, points: int = CDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(latency ms, fraction of requests at or below it) at `points` evenly spaced fractions."""
    if latency_s.size == 0:
        return np.zeros(0), np.zeros(0)
    fractions = np.linspace(0.0, 1.0, points)
    return np.quantile(latency_s, fractions) * 1000, fractions


@dataclass(frozen=True)
class LengthBins:
    """Latency of successful requests by input size, in log-spaced bins of characters."""

    chars_mid: np.ndarray
    count: np.ndarray
    p50_ms: np.ndarray
    p90_ms: np.ndarray
    p99_ms: np.ndarray


def latency_by_length(cols: RecordColumns, bins: int = LENGTH_BINS) -> LengthBins:
    chars, lat = cols.chars[cols.ok], cols.latency_s[cols.ok]
    if chars.size == 0:
        empty = np.zeros(0)
        return LengthBins(empty, empty, empty, empty, empty)
    lo, hi = max(int(chars.min()), 1), max(int(chars.max()), 2)
    edges = np.unique(np.geomspace(lo, hi + 1, bins + 1).astype(np.int64))
    rows = []
    last = edges.size - 2
    for b in range(last + 1):
        # a mask per bin, not an index per request: ten million of those would be 80 MB
        # (sizes under the lowest edge count in the first bin)
        inside = chars < edges[b + 1] if b < last else np.ones(chars.size, dtype=bool)
        if b > 0:
            inside &= chars >= edges[b]
        chunk = lat[inside]
        if chunk.size:
            rows.append(
                (
                    np.sqrt(edges[b] * edges[b + 1]),
                    chunk.size,
                    *np.percentile(chunk, [50, 90, 99]) * 1000,
                )
            )
    table = np.array(rows, dtype=float).reshape(-1, 5)
    return LengthBins(*(table[:, i] for i in range(5)))
