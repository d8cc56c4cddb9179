"""Thresholds a run must hold, as CI gates: `p99<200ms,p50<50ms,error_rate<0.1%,qps>100`.

One grammar for `--fail-on` (run, and later sweep) and `--slo`: comma-separated
`METRIC OP LIMIT`, METRIC one of METRICS (or p999), OP one of < <= > >=, LIMIT a number with
the metric's unit: latencies in ms by default or with `ms` / `s`, the error rate as `0.1%` or a
fraction, rates as plain numbers per second. Each is checked against the figure a run's summary
has, by the definition METRICS gives it; a figure that does not exist (no successful request,
so no latency) crosses its threshold: a gate never passes on missing data.

The soak metrics are checked against a run's Stability instead (core/stability.py), by the fit's
central estimate: `server_rss_growth`, `gpu_memory_growth`, `embload_rss_growth` in `KiB/h`,
`MiB/h` or `GiB/h`, and `p99_drift` in `%/h`, e.g. `server_rss_growth<20MiB/h,p99_drift<5%/h`.
A series not sampled, or with too little data for a verdict, crosses its threshold too.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from loadtest.core.errors import ThresholdError
from loadtest.core.results import METRICS, Figures, ThresholdVerdict
from loadtest.core.stability import DriftFit, GrowthFit, Stability

_LATENCIES = ("p50", "p90", "p99", "p999")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
# any unit word is taken here and judged by its metric, so a wrong one is named as such
_TERM = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*([a-z%/]+)?\s*$")

# The soak metrics, declared here alone: each one's field of Stability and its words.
_GROWTH: dict[str, tuple[str, str]] = {
    "server_rss_growth": ("server_rss", "server RSS growth"),
    "gpu_memory_growth": ("gpu_memory", "GPU memory growth"),
    "embload_rss_growth": ("embload_rss", "embload RSS growth"),
}
_DRIFT = "p99_drift"
_DRIFT_LABEL = "P99 drift"
STABILITY_METRICS = (*_GROWTH, _DRIFT)
_PER_HOUR_BYTES = {"kib/h": 1 << 10, "mib/h": 1 << 20, "gib/h": 1 << 30}  # a unit's bytes
_SHOWN = {"kib/h": "KiB/h", "mib/h": "MiB/h", "gib/h": "GiB/h", "%/h": "%/h"}


@dataclass(frozen=True)
class Threshold:
    metric: str  # a METRICS key, p999, or one of STABILITY_METRICS
    op: str
    # in the unit the summary states the figure in: ms, a fraction, per second; the soak
    # metrics in bytes per hour, p99_drift in percent per hour
    limit: float
    text: str  # as written

    def check(self, figures: Figures, *, stability: Stability | None = None) -> ThresholdVerdict:
        value = figure(figures, self.metric, stability=stability)
        held = value is not None and _OPS[self.op](value, self.limit)
        return ThresholdVerdict(
            threshold=self.text, metric=self.metric, value=value, limit=self.limit, held=held
        )


def figure(figures: Figures, metric: str, *, stability: Stability | None = None) -> float | None:
    """The summary's figure of that name: latencies in ms, the error rate as a fraction; a soak
    metric's fit from `stability`, None where it is missing or had too little data."""
    if metric in STABILITY_METRICS:
        fit = _fit(stability, metric)
        if fit is None or fit.verdict == "too_little_data":
            return None
        return fit.per_hour_pct if isinstance(fit, DriftFit) else fit.per_hour_bytes
    if metric in _LATENCIES:
        value: float | None = getattr(figures.latency_ms, metric)
        return value
    return float(getattr(figures, metric)) if getattr(figures, metric) is not None else None


def parse_thresholds(text: str) -> list[Threshold]:
    """`p99<200ms,error_rate<0.1%` to thresholds; ThresholdError naming the first bad term."""
    plain = sorted({*METRICS, "p999"})
    known = {*plain, *STABILITY_METRICS}
    out = []
    for term in (t for t in text.split(",") if t.strip()):
        match = _TERM.match(term.lower())
        if match is None:
            raise ThresholdError(f"{term.strip()!r} is not METRIC<LIMIT, e.g. p99<200ms")
        metric, op, number, unit = match.groups()
        if metric not in known:
            raise ThresholdError(
                f"{term.strip()!r}: unknown metric {metric!r}; one of {', '.join(plain)}; "
                f"for soaks {', '.join(STABILITY_METRICS)}"
            )
        limit = float(number)
        if metric in _LATENCIES:
            if unit not in (None, "ms", "s"):
                raise ThresholdError(f"{term.strip()!r}: a latency takes ms or s")
            limit *= 1000.0 if unit == "s" else 1.0
        elif metric in _GROWTH:
            if unit not in _PER_HOUR_BYTES:
                raise ThresholdError(
                    f"{term.strip()!r}: {metric} takes KiB/h, MiB/h or GiB/h, e.g. {metric}<20MiB/h"
                )
            limit *= _PER_HOUR_BYTES[unit]
        elif metric == _DRIFT:
            if unit != "%/h":
                raise ThresholdError(f"{term.strip()!r}: {metric} takes %/h, e.g. {metric}<5%/h")
        elif metric == "error_rate":
            if unit not in (None, "%"):
                raise ThresholdError(f"{term.strip()!r}: an error rate takes % or a fraction")
            limit /= 100.0 if unit == "%" else 1.0
        elif unit is not None:
            raise ThresholdError(f"{term.strip()!r}: {metric} is a plain number per second")
        out.append(Threshold(metric, op, limit, term.strip()))
    if not out:
        raise ThresholdError("no threshold given, e.g. p99<200ms,error_rate<0.1%")
    return out


def check_all(
    thresholds: list[Threshold], figures: Figures, *, stability: Stability | None = None
) -> list[ThresholdVerdict]:
    return [t.check(figures, stability=stability) for t in thresholds]


def crossed_line(verdict: ThresholdVerdict, *, stability: Stability | None = None) -> str:
    """`p99<1ms (P99 was 10.3 ms)`, for the one line a crossed gate prints; a soak metric's in
    the unit its threshold was written in. With `stability`, a missing soak figure says why."""
    if verdict.metric in STABILITY_METRICS:
        return _soak_line(verdict, stability)
    metric = METRICS.get(verdict.metric)
    label = metric.label if metric else verdict.metric.upper()
    if verdict.value is None:
        return f"{verdict.threshold} ({label}: no successful request to measure)"
    if verdict.metric == "error_rate":
        shown = f"{verdict.value:.2%}"
    elif verdict.metric in _LATENCIES:
        shown = f"{verdict.value:.1f} ms"
    else:
        shown = f"{verdict.value:,.1f}/s"
    return f"{verdict.threshold} ({label} was {shown})"


def _fit(stability: Stability | None, metric: str) -> GrowthFit | DriftFit | None:
    if stability is None:
        return None
    if metric == _DRIFT:
        return stability.p99_drift
    fit: GrowthFit | None = getattr(stability, _GROWTH[metric][0])
    return fit


def _soak_line(verdict: ThresholdVerdict, stability: Stability | None) -> str:
    label = _DRIFT_LABEL if verdict.metric == _DRIFT else _GROWTH[verdict.metric][1]
    if verdict.value is None:
        fit = _fit(stability, verdict.metric)
        if stability is None:
            why = "not measured, or too little data to measure"
        elif fit is None:
            why = "not measured in this run"
        else:
            why = "too little data to measure"
        return f"{verdict.threshold} ({label}: {why})"
    match = _TERM.match(verdict.threshold.lower())
    unit = match.group(4) if match is not None and match.group(4) in _SHOWN else None
    unit = unit or ("%/h" if verdict.metric == _DRIFT else "mib/h")
    shown = verdict.value / _PER_HOUR_BYTES.get(unit, 1)
    space = "" if unit == "%/h" else " "
    return f"{verdict.threshold} ({label} was {shown:,.1f}{space}{_SHOWN[unit]})"
