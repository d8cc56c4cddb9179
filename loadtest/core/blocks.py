"""The block bootstrap behind compare's intervals.

Latencies within one run are not independent: a server drifts, warms up, batches neighbours
together. Resampling single requests as if they were independent makes intervals far too narrow
(an A/A comparison on one server then "finds" a 7% difference). So the unit resampled here is
the one-second window, and windows are drawn in runs of consecutive ones (a circular moving-block
bootstrap; blocks of at least sqrt(n) windows, longer where the run's autocorrelation reaches
further), so correlation across neighbouring seconds survives into the resamples. A resample is
a multiplicity per window; every statistic (a percentile, a rate, an error rate) is computed
over the windows it drew.

The interval is the estimate plus or minus a t quantile times the bootstrap standard error, with
degrees of freedom from the number of independent blocks: with a handful of blocks a percentile
bootstrap runs narrow, and the t quantile is what widens it back (calibrated on autocorrelated
synthetic data in tests/unit/core/test_blocks.py). Pure numpy; the caller passes the generator.
"""

from __future__ import annotations

import math

import numpy as np

from loadtest.core.student import t_two_sided

RESAMPLES = 1000
MAX_SAMPLE = 20_000  # requests a side: a percentile's interval needs thousands, not millions
MIN_WINDOWS = 4  # one-second windows a side below which no verdict is given
_CHUNK = 100  # resamples per pass of the weighted quantile, so memory stays ~MAX_SAMPLE * 100


def block_length(series: np.ndarray) -> int:
    """Windows per block, from how far the series' autocorrelation reaches (Politis and White's
    flat-top rule, simplified): twice the last lag before K lags in a row are indistinguishable
    from 0; at least 1, at most half the windows so there are two blocks to draw from."""
    n = series.size
    floor = math.ceil(math.sqrt(n))
    if n < 4:
        return max(1, floor)
    x = series - series.mean()
    denom = float(x @ x)
    if denom == 0.0:
        return floor
    bound = 2.0 * math.sqrt(math.log10(n) / n)
    run_needed = max(1, min(5, math.ceil(math.sqrt(math.log10(n)))))
    quiet = 0
    for lag in range(1, n // 2 + 1):
        rho = float(x[:-lag] @ x[lag:]) / denom
        quiet = quiet + 1 if abs(rho) < bound else 0
        if quiet == run_needed:
            return max(floor, min(n // 2, 2 * (lag - run_needed)))
    return max(floor, n // 2)


def blocks(windows: int, length: int) -> int:
    """Blocks of `length` windows a side of `windows` windows is resampled as."""
    return math.ceil(windows / length)


def window_weights(
    windows: int, length: int, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """(resamples, windows): how often each window is drawn, circular blocks of `length`
    consecutive windows until `windows` are drawn."""
    k = blocks(windows, length)
    starts = rng.integers(0, windows, (resamples, k))
    drawn = ((starts[:, :, None] + np.arange(length)) % windows).reshape(resamples, -1)
    drawn = drawn[:, :windows] + (np.arange(resamples) * windows)[:, None]
    counts = np.bincount(drawn.ravel(), minlength=resamples * windows)
    return counts.reshape(resamples, windows).astype(np.float64)


def thin(
    values: np.ndarray, window: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_SAMPLE of the requests, drawn at random, each keeping its window."""
    if values.size <= MAX_SAMPLE:
        return values, window
    keep = rng.choice(values.size, MAX_SAMPLE, replace=False)
    return values[keep], window[keep]


def weighted_quantiles(
    values: np.ndarray, window: np.ndarray, weights: np.ndarray, q: float
) -> np.ndarray:
    """The q-th percentile (0-100) of `values` in each resample: each value counts as often as
    its window was drawn. NaN where a resample drew no values at all."""
    order = np.argsort(values, kind="stable")
    ordered, owner = values[order], window[order]
    out = np.empty(weights.shape[0])
    for lo in range(0, weights.shape[0], _CHUNK):
        cum = np.cumsum(weights[lo : lo + _CHUNK][:, owner], axis=1)
        total = cum[:, -1] if cum.shape[1] else np.zeros(cum.shape[0])
        pos = np.argmax(cum >= (q / 100.0) * total[:, None], axis=1) if cum.shape[1] else 0
        out[lo : lo + _CHUNK] = np.where(
            total > 0, ordered[pos] if ordered.size else np.nan, np.nan
        )
    return out


def weighted_ratio(
    numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """sum(numerator) / sum(denominator) over the windows of each resample; NaN where 0/0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: np.ndarray = (weights @ numerator) / (weights @ denominator)
    return ratio


def interval(
    estimate: float,
    replicates: tuple[np.ndarray, np.ndarray],
    k: tuple[int, int],
    level: float = 0.95,
) -> tuple[float, float] | None:
    """estimate +/- t * the standard error of a difference of two sides' statistics (B's minus
    A's), each side's variance from its own replicates, scaled by k/(k-1) for its k blocks as a
    sample variance is; t with the fewer side's k - 1 degrees of freedom (Welch's worst case).
    None when either side drew too few finite replicates."""
    variance = 0.0
    for reps, blocks_drawn in zip(replicates, k, strict=True):
        finite = reps[np.isfinite(reps)]
        if finite.size < 0.9 * reps.size or blocks_drawn < 2:
            return None
        variance += float(np.var(finite, ddof=1)) * blocks_drawn / (blocks_drawn - 1)
    half = t_two_sided(level, min(k) - 1) * math.sqrt(variance)
    return estimate - half, estimate + half
