"""Soak verdicts: does the server's memory grow over a run (a leak), and does its P99 drift.

Memory is judged on window floors (each window's minimum), which an allocator's sawtooth
returns to and a leak raises; latency on windowed P99s. Both slopes are Theil–Sen with Sen's
interval (core/slopes.py), and a verdict needs the interval clear of zero and a change big
enough to matter; too little data after warm-up gives no verdict at all. Units are in the
names: bytes, seconds, percent; MiB and KiB appear only in the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeGuard

import numpy as np
from pydantic import Field

from loadtest.core.model import Model
from loadtest.core.slopes import SenFit, theil_sen, windowed

__all__ = [
    "METHOD",
    "DriftFit",
    "GrowthFit",
    "Series",
    "Stability",
    "growth_fit",
    "kib_per_request",
    "mib_per_hour",
    "p99_drift",
    "windowed",
]

Series = Literal["server_rss", "gpu_memory", "embload_rss"]
SERIES_LABELS: dict[str, str] = {
    "server_rss": "server RSS",
    "gpu_memory": "GPU memory",
    "embload_rss": "embload RSS",
}
KIB = 1024
MIB = 1024 * KIB
HOUR_S = 3600.0

# A flat server's RSS still moves: pymalloc takes 1 MiB arenas, glibc keeps freed memory below
# its trim threshold, a new thread touches its stack. Growth under this over the whole span is
# what such a server shows with no leak, and no leak worth a report is that small.
MIN_GROWTH_BYTES = 2 * MIB
NOISE_MULTIPLE = 3.0  # growth over the span must stand this far above the floors' scatter
TARGET_WINDOWS = 30  # enough floors for Sen's interval, each window still long
MAX_WINDOW_S = 60.0
MAX_WINDOWS = 1000  # Theil–Sen is quadratic in its points
SAMPLES_PER_WINDOW = 3  # a floor needs a few samples, or it is one sample's noise
# A P99 is judged by how much worse it got over the run: a rate floor alone would flag a few
# percent in a short run or miss a doubling over a day. Run-to-run P99 differences of a few
# percent are common between identical runs; a tenth is what a user would act on.
MIN_DRIFT_FRACTION = 0.10
DRIFT_WINDOW_S = 60.0
MIN_DRIFT_WINDOW_S = 5.0
MIN_WINDOW_REQUESTS = 20  # a P99 of fewer requests is their maximum, one request's noise

METHOD = (
    "Memory: the samples after warm-up are cut into equal windows "
    f"({TARGET_WINDOWS} over the span, at most {MAX_WINDOW_S:.0f} s, at least "
    f"{SAMPLES_PER_WINDOW} sampling intervals each) and each window keeps its minimum, the floor "
    "an allocator's sawtooth returns to: a leak raises it, a transient peak does not. The "
    "Theil–Sen slope (the median of the slopes between every pair of floors) is fitted over "
    "them, with Sen's 95% interval from the variance of Kendall's S; the growth per request is "
    "the same fit against the requests served by each floor's time. A leak is suspected only "
    "when the interval lies above zero and the growth over the span exceeds both "
    f"{MIN_GROWTH_BYTES // MIB} MiB and {NOISE_MULTIPLE:g} times the floors' robust scatter "
    "(the scaled median absolute deviation of their residuals), and the lowest floor of the "
    "span's second half stands above the first half's by half that much: growth that is kept, "
    "not a slow sawtooth; shrinking is its mirror. P99 "
    f"drift: the P99 of successful requests in windows of {DRIFT_WINDOW_S:.0f} s (a tenth of the "
    f"span in shorter runs, at least {MIN_DRIFT_WINDOW_S:.0f} s; windows of under "
    f"{MIN_WINDOW_REQUESTS} requests skipped), its Theil–Sen slope and Sen's interval as percent "
    "per hour of the fitted P99 at the start; drifting when the interval lies above zero and the "
    f"P99 rises by at least {MIN_DRIFT_FRACTION:.0%} over the run. Too little data after warm-up "
    "gives no verdict."
)


class GrowthFit(Model):
    """One memory series' trend after warm-up, and the verdict on it."""

    series: Series
    source: str = Field(description="where the samples came from, in words")
    method: str = Field(description="how the trend was fitted, in words")
    samples: int = Field(description="samples after warm-up")
    windows: int = Field(description="windows whose floors were fitted")
    span_s: float = Field(description="seconds from start_s to the last sample")
    start_s: float = Field(description="unix time of the first sample after warm-up")
    level_bytes: float | None = Field(description="the fitted floor at start_s")
    per_hour_bytes: float | None = Field(description="the floor's Theil–Sen slope, per hour")
    per_hour_low_bytes: float | None = Field(description="its 95% interval (Sen's), low end")
    per_hour_high_bytes: float | None = Field(description="its 95% interval, high end")
    per_request_bytes: float | None = Field(
        description="the floor's slope against requests served; null without request counts"
    )
    per_request_low_bytes: float | None
    per_request_high_bytes: float | None
    verdict: Literal["leak_suspected", "no_growth", "shrinking", "too_little_data"]
    words: str = Field(description="the verdict in one line")


class DriftFit(Model):
    """The trend of the windowed P99 of successful requests after warm-up."""

    windows: int = Field(description="windows fitted, each with enough successful requests")
    window_s: float
    span_s: float = Field(description="seconds from start_s to the last request's end")
    start_s: float = Field(description="unix time the fit starts at")
    level_s: float | None = Field(description="the fitted P99 at start_s")
    per_hour_pct: float | None = Field(description="the P99's slope, percent of level_s per hour")
    per_hour_low_pct: float | None = Field(description="its 95% interval (Sen's), low end")
    per_hour_high_pct: float | None = Field(description="its 95% interval, high end")
    verdict: Literal["drifting", "no_drift", "too_little_data"]
    words: str = Field(description="the verdict in one line")


class Stability(Model):
    """A run's soak verdicts: each memory series' growth and the P99's drift."""

    server_rss: GrowthFit | None = Field(description="the server's RSS; null: not sampled")
    gpu_memory: GrowthFit | None = Field(description="GPU memory used; null: no GPU sampled")
    embload_rss: GrowthFit | None = Field(description="embload's own RSS, the load generator's")
    p99_drift: DriftFit | None
    warmup_end_s: float | None = Field(description="unix time the fits start from")
    method: str = Field(description="how the verdicts are reached, for reports")


def growth_fit(
    series: Series,
    source: str,
    times_s: np.ndarray,
    values_bytes: np.ndarray,
    *,
    start_s: float,
    served_at: np.ndarray | None = None,
    min_span_s: float = 60.0,
    min_windows: int = 10,
) -> GrowthFit:
    """The growth of a memory series' window floors after `start_s`, per hour and (with
    `served_at`, the requests served by each sample's time) per request, and its verdict."""
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values_bytes, dtype=float)
    if served_at is not None and len(served_at) != t.size:
        raise ValueError(f"served_at has {len(served_at)} counts for {t.size} samples")
    kept = t[np.isfinite(t) & np.isfinite(v) & (t >= start_s)]
    start = float(kept.min()) if kept.size else start_s
    span = float(kept.max()) - start if kept.size else 0.0
    step = float(np.median(np.diff(np.sort(kept)))) if kept.size > 1 else 0.0
    width = max(min(MAX_WINDOW_S, span / TARGET_WINDOWS), SAMPLES_PER_WINDOW * step)
    width = max(width, span / MAX_WINDOWS)
    tiles = _tiles(span, width)
    width = span / tiles if span > 0 else width
    floors = windowed(t, v, width, "min", start_s=start, end_s=start + span) if span > 0 else None
    count = floors.value.size if floors is not None else 0
    fit = theil_sen(floors.at_s, floors.value, x0=start) if floors is not None else None
    label = SERIES_LABELS[series]
    if floors is None or span < min_span_s or count < min_windows or not _interval(fit):
        held = f"{span:.0f} s of samples after warm-up" if kept.size else "no samples after warm-up"
        if span >= min_span_s:
            held += f" in {count} windows of {width:.0f} s"
        return GrowthFit(
            series=series,
            source=source,
            method="none: too little data",
            samples=int(kept.size),
            windows=count,
            span_s=span,
            start_s=start,
            level_bytes=None,
            per_hour_bytes=None,
            per_hour_low_bytes=None,
            per_hour_high_bytes=None,
            per_request_bytes=None,
            per_request_low_bytes=None,
            per_request_high_bytes=None,
            verdict="too_little_data",
            words=f"{label}: too little data for a verdict ({held}; at least {min_span_s:.0f} s "
            f"and {min_windows} windows needed)",
        )
    per_request: list[float | None] = [None, None, None]
    if served_at is not None:
        served = np.asarray(served_at, dtype=float)[floors.chosen]
        by_request = theil_sen(served, floors.value, x0=float(served[0]))
        if by_request is not None:
            per_request = [_finite(x) for x in (by_request.slope, by_request.low, by_request.high)]
    growth = fit.slope * span
    floor = max(MIN_GROWTH_BYTES, NOISE_MULTIPLE * fit.noise)
    # a sawtooth slower than the windows can tilt the fit; if the floor returns to its old level
    # in the second half of the span, the growth was not kept, and that is no leak
    later = floors.at_s >= start + span / 2
    raised = float(floors.value[later].min() - floors.value[~later].min())
    verdict: Literal["leak_suspected", "no_growth", "shrinking"] = "no_growth"
    if growth >= floor and fit.low > 0 and raised >= floor / 2:
        verdict = "leak_suspected"
    elif growth <= -floor and fit.high < 0 and raised <= -floor / 2:
        verdict = "shrinking"
    per_hour = (fit.slope * HOUR_S, fit.low * HOUR_S, fit.high * HOUR_S)
    against = "; per request against the requests served" if served_at is not None else ""
    return GrowthFit(
        series=series,
        source=source,
        method=f"Theil–Sen slope of {count} windows' minimum ({width:.0f} s each) after "
        f"warm-up, Sen's 95% interval{against}",
        samples=int(kept.size),
        windows=count,
        span_s=span,
        start_s=start,
        level_bytes=fit.level,
        per_hour_bytes=per_hour[0],
        per_hour_low_bytes=per_hour[1],
        per_hour_high_bytes=per_hour[2],
        per_request_bytes=per_request[0],
        per_request_low_bytes=per_request[1],
        per_request_high_bytes=per_request[2],
        verdict=verdict,
        words=_growth_words(label, verdict, per_hour, per_request[0], growth, floor),
    )


def p99_drift(
    end_times_s: np.ndarray,
    latency_s: np.ndarray,
    ok_mask: np.ndarray,
    *,
    start_s: float,
    window_s: float | None = None,
    min_span_s: float = 60.0,
    min_windows: int = 6,
) -> DriftFit:
    """The drift of the P99 of successful requests that ended after `start_s`, in windows of
    `window_s` (default: see METHOD; stretched so whole windows tile the span)."""
    end = np.asarray(end_times_s, dtype=float)
    ok = np.asarray(ok_mask, dtype=bool) & np.isfinite(end) & (end >= start_s)
    span = float(end[ok].max()) - start_s if ok.any() else 0.0
    if window_s is None:
        fits_ten = span >= 10 * DRIFT_WINDOW_S
        window_s = DRIFT_WINDOW_S if fits_ten else max(span / 10, MIN_DRIFT_WINDOW_S)
    window_s = max(window_s, span / MAX_WINDOWS)
    tiles = _tiles(span, window_s)
    width = span / tiles if span > 0 else window_s
    p99 = windowed(
        end[ok],
        np.asarray(latency_s, dtype=float)[ok],
        width,
        "p99",
        start_s=start_s,
        end_s=start_s + span,
        min_count=MIN_WINDOW_REQUESTS,
    )
    fit = theil_sen(p99.at_s, p99.value, x0=start_s)
    windows = int(p99.value.size)
    if span < min_span_s or windows < min_windows or not _interval(fit) or fit.level <= 0:
        held = f"{span:.0f} s of successful requests after warm-up in {windows} windows"
        held = held if ok.any() else "no successful request after warm-up"
        return DriftFit(
            windows=windows,
            window_s=width,
            span_s=span,
            start_s=start_s,
            level_s=None,
            per_hour_pct=None,
            per_hour_low_pct=None,
            per_hour_high_pct=None,
            verdict="too_little_data",
            words=f"P99: too little data for a drift verdict ({held}; at least "
            f"{min_span_s:.0f} s and {min_windows} windows of {MIN_WINDOW_REQUESTS} requests "
            "needed)",
        )
    pct = [x * HOUR_S / fit.level * 100 for x in (fit.slope, fit.low, fit.high)]
    change = fit.slope * span / fit.level
    drifting = fit.low > 0 and change >= MIN_DRIFT_FRACTION
    rate = "{}%/h [{}, {}]".format(*_figures(pct, 1.0, signed=True))
    at = f"{fit.level * 1000:.1f} ms at the start, {change:+.0%} over the run"
    if drifting:
        words = f"P99 drifts {rate} from {at}: drifting"
    elif fit.low > 0:
        words = f"P99: no material drift ({rate}, {at}; under +{MIN_DRIFT_FRACTION:.0%})"
    elif fit.high < 0:
        words = f"P99 falls {rate} from {at}: no upward drift"
    else:
        words = f"P99: no drift beyond noise ({rate}, {at})"
    return DriftFit(
        windows=windows,
        window_s=width,
        span_s=span,
        start_s=start_s,
        level_s=fit.level,
        per_hour_pct=pct[0],
        per_hour_low_pct=pct[1],
        per_hour_high_pct=pct[2],
        verdict="drifting" if drifting else "no_drift",
        words=words,
    )


def mib_per_hour(per_hour_bytes: float, low: float | None = None, high: float | None = None) -> str:
    """`41 MiB/h`, or with an interval `41 MiB/h [33, 49]`, digits by the largest of them."""
    shown = _figures([per_hour_bytes, *(x for x in (low, high) if x is not None)], MIB)
    return f"{shown[0]} MiB/h" + (f" [{shown[1]}, {shown[2]}]" if len(shown) == 3 else "")


def kib_per_request(per_request_bytes: float) -> str:
    return f"{_figures([per_request_bytes], KIB)[0]} KiB per request"


def _growth_words(
    label: str,
    verdict: str,
    per_hour: tuple[float, float, float],
    per_request: float | None,
    growth: float,
    floor: float,
) -> str:
    plain = mib_per_hour(*per_hour)
    signed = "{} MiB/h [{}, {}]".format(*_figures(list(per_hour), MIB, signed=True))
    if verdict == "leak_suspected":
        each = f", {kib_per_request(per_request)}" if per_request is not None else ""
        return f"{label} grows {plain}{each}: leak suspected"
    if verdict == "shrinking":
        return f"{label} shrinks: {plain}"
    if not per_hour[1] > 0 and not per_hour[2] < 0:
        return f"{label}: no growth beyond noise ({signed})"
    if abs(growth) >= floor:
        return f"{label}: growth not kept ({signed}; the floor came back within the run)"
    over, need = _figures([growth, floor], MIB)
    return f"{label}: no material growth ({signed}; {over} MiB over the run, under {need} MiB)"


def _figures(values: Sequence[float], scale: float, *, signed: bool = False) -> list[str]:
    """Values over `scale`, with as many digits as the largest needs: 41, 1.9, 0.03."""
    scaled = [x / scale for x in values]
    top = max(abs(x) for x in scaled)
    digits = 0 if top >= 10 else 1 if top >= 0.1 else 2
    # round first and add zero so that a value rounding to nothing shows as 0, never -0
    shown = [f"{round(x, digits) + 0.0:.{digits}f}" for x in scaled]
    if signed and not shown[0].startswith("-"):
        shown[0] = "+" + shown[0]
    return shown


def _interval(fit: SenFit | None) -> TypeGuard[SenFit]:
    return fit is not None and bool(np.isfinite(fit.low) and np.isfinite(fit.high))


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _tiles(span_s: float, width_s: float) -> int:
    """Whole windows of about `width_s` in the span: rounded, so that a span a hair short of n
    widths keeps n windows rather than n - 1 stretched ones."""
    return max(round(span_s / width_s), 1) if span_s > 0 else 1
