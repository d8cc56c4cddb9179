"""Binned series for the report's charts: per-second windows, a latency CDF, latency by length.

Pure numpy over columns of the records, so a million requests become a few hundred points
before anything is drawn. Times are seconds since the load started; latencies are in ms here,
because only reports use these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CDF_POINTS = 400
MAX_WINDOWS = 3600
LENGTH_BINS = 24


@dataclass(frozen=True)
class RecordColumns:
    """The records as arrays: what the charts need, one entry per request."""

    start_time: np.ndarray  # Unix s
    latency_s: np.ndarray
    ok: np.ndarray  # bool
    user: np.ndarray  # int
    chars: np.ndarray  # int
    tokens: np.ndarray  # float, NaN where the server reported none
    inputs: np.ndarray  # int: texts in the request

    def __len__(self) -> int:
        return int(self.start_time.size)


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
    span = float((cols.start_time + cols.latency_s).max() - t0)
    width_s = float(max(1.0, np.ceil(span / max_windows)))
    sent = np.floor((cols.start_time - t0) / width_s).astype(np.int64)
    done = np.floor((cols.start_time + cols.latency_s - t0) / width_s).astype(np.int64)
    sent, done = np.maximum(sent, 0), np.maximum(done, 0)
    n = int(max(sent.max(), done.max())) + 1
    p50, p99 = np.full(n, np.nan), np.full(n, np.nan)
    good = cols.ok
    order = np.lexsort((cols.latency_s[good], sent[good]))
    keys, lat = sent[good][order], cols.latency_s[good][order] * 1000
    bounds = np.searchsorted(keys, np.arange(n + 1))
    for w in range(n):
        chunk = lat[bounds[w] : bounds[w + 1]]
        if chunk.size:
            p50[w], p99[w] = np.percentile(chunk, [50, 99])
    ok_per_s = np.bincount(done[good], minlength=n)[:n] / width_s
    errors_per_s = np.bincount(done[~good], minlength=n)[:n] / width_s
    pairs = np.unique(sent * (int(cols.user.max()) + 1) + cols.user)
    active = np.bincount(pairs // (int(cols.user.max()) + 1), minlength=n)[:n]
    return Windows(width_s, np.arange(n) * width_s, p50, p99, ok_per_s, errors_per_s, active)


def latency_cdf(latency_s: np.ndarray, points: int = CDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(latency ms, fraction of requests at or below it) at `points` evenly spaced fractions."""
    if latency_s.size == 0:
        return np.zeros(0), np.zeros(0)
    fractions = np.linspace(0.0, 1.0, points)
    return np.quantile(latency_s * 1000, fractions), fractions


@dataclass(frozen=True)
class LengthBins:
    """Latency of successful requests by input size, in log-spaced bins of characters."""

    chars_mid: np.ndarray
    count: np.ndarray
    p50_ms: np.ndarray
    p90_ms: np.ndarray
    p99_ms: np.ndarray


def latency_by_length(cols: RecordColumns, bins: int = LENGTH_BINS) -> LengthBins:
    chars, lat = cols.chars[cols.ok], cols.latency_s[cols.ok] * 1000
    if chars.size == 0:
        empty = np.zeros(0)
        return LengthBins(empty, empty, empty, empty, empty)
    lo, hi = max(int(chars.min()), 1), max(int(chars.max()), 2)
    edges = np.unique(np.geomspace(lo, hi + 1, bins + 1).astype(np.int64))
    which = np.clip(np.searchsorted(edges, chars, side="right") - 1, 0, edges.size - 2)
    rows = []
    for b in range(edges.size - 1):
        chunk = lat[which == b]
        if chunk.size:
            rows.append(
                (np.sqrt(edges[b] * edges[b + 1]), chunk.size, *np.percentile(chunk, [50, 90, 99]))
            )
    table = np.array(rows, dtype=float).reshape(-1, 5)
    return LengthBins(*(table[:, i] for i in range(5)))
