"""Robust trends over time: samples aggregated into fixed windows, and the Theil–Sen slope with
Sen's interval.

The slope and its interval are what scipy.stats.theilslopes computes (Sen 1968, equation 2.6:
the variance of Kendall's S with the correction for ties), in numpy, because scipy is no
dependency of embload's.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

Stat = Literal["min", "max", "mean", "median", "p99"]

Z_95 = 1.959963984540054  # the normal quantile of 0.975: a two-sided 95% interval
MAD_TO_SD = 1.4826  # scales a median absolute deviation to a normal's standard deviation
_QUANTILES = {"median": 0.5, "p99": 0.99}


class Windows(NamedTuple):
    """The windows that held samples, in time order."""

    at_s: np.ndarray  # min and max: the time of the sample chosen; otherwise the window's middle
    value: np.ndarray
    samples: np.ndarray  # samples in the window
    chosen: np.ndarray  # min and max: the chosen sample's index in the input; otherwise -1


class SenFit(NamedTuple):
    slope: float  # y per unit of x
    low: float  # the slope's 95% interval; NaN where the points are too few for one
    high: float
    level: float  # the fitted y at x0
    noise: float  # a robust sd of the residuals: MAD_TO_SD times their median absolute deviation


def windowed(
    times_s: np.ndarray,
    values: np.ndarray,
    window_s: float,
    stat: Stat,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    min_count: int = 1,
) -> Windows:
    """Samples aggregated into windows of `window_s` from `start_s` (default: the first sample).

    Samples before `start_s`, after `end_s`, or not finite are left out; a sample at `end_s`
    itself joins the last window, so windows of `(end - start) / n` tile the span exactly.
    Windows with fewer than `min_count` samples are skipped. Percentiles are numpy's linear
    interpolation, as everywhere in embload.
    """
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError(f"times and values differ in shape: {t.shape} and {v.shape}")
    if not window_s > 0:
        raise ValueError(f"window_s must be positive, not {window_s}")
    keep = np.isfinite(t) & np.isfinite(v)
    if start_s is not None:
        keep &= t >= start_s
    if end_s is not None:
        keep &= t <= end_s
    picked = np.flatnonzero(keep)
    if not picked.size:
        return Windows(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    origin = float(t[picked].min()) if start_s is None else start_s
    slot = np.floor((t[picked] - origin) / window_s).astype(np.int64)
    if end_s is not None:
        slot = np.minimum(slot, max(int(np.ceil((end_s - origin) / window_s)) - 1, 0))
    order = np.lexsort((v[picked], slot))  # by window, then by value within it
    ranked = picked[order]
    slots, first, count = np.unique(slot[order], return_index=True, return_counts=True)
    last = first + count - 1
    index = np.full(slots.size, -1, dtype=np.int64)
    at = origin + (slots + 0.5) * window_s
    sorted_v = v[ranked]
    if stat in ("min", "max"):
        index = ranked[first if stat == "min" else last]
        at, value = t[index], v[index]
    elif stat == "mean":
        value = np.add.reduceat(sorted_v, first) / count
    else:
        # each window's values are sorted: its quantile is numpy's linear interpolation at once
        pos = first + _QUANTILES[stat] * (count - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        value = sorted_v[lo] + (pos - lo) * (sorted_v[hi] - sorted_v[lo])
    full = count >= min_count
    return Windows(at[full], value[full], count[full], index[full])


def theil_sen(x: np.ndarray, y: np.ndarray, *, x0: float = 0.0, z: float = Z_95) -> SenFit | None:
    """The median of the pairwise slopes and Sen's interval for it; None under three points or
    where all x are equal. Quadratic in the points: callers pass window aggregates, not samples.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 3:
        return None
    i, j = np.triu_indices(n, 1)
    dx, dy = x[j] - x[i], y[j] - y[i]
    apart = dx != 0
    if not apart.any():
        return None
    slopes = np.sort(dy[apart] / dx[apart])
    slope = float(np.median(slopes))
    sigma_sq = (_ties(np.array([n])) - _ties(_repeats(x)) - _ties(_repeats(y))) / 18.0
    # no variance left once ties are taken out: every y is equal, and so every slope is zero
    low = high = slope if sigma_sq <= 0 else float("nan")
    if sigma_sq > 0:
        sigma = np.sqrt(sigma_sq)
        pairs = slopes.size
        upper = min(round((pairs + z * sigma) / 2.0), pairs - 1)
        lower = max(round((pairs - z * sigma) / 2.0) - 1, 0)
        if lower <= upper:
            low, high = float(slopes[lower]), float(slopes[upper])
    level = float(np.median(y - slope * (x - x0)))
    residuals = y - level - slope * (x - x0)
    noise = MAD_TO_SD * float(np.median(np.abs(residuals - np.median(residuals))))
    return SenFit(slope, low, high, level, noise)


def _repeats(a: np.ndarray) -> np.ndarray:
    counts = np.unique(a, return_counts=True)[1]
    return counts[counts > 1]


def _ties(k: np.ndarray) -> float:
    k = k.astype(float)
    return float(np.sum(k * (k - 1) * (2 * k + 5)))
