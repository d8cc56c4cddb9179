"""Thresholds a run must hold, as CI gates: `p99<200ms,p50<50ms,error_rate<0.1%,qps>100`.

One grammar for `--fail-on` (run, and later sweep) and `--slo`: comma-separated
`METRIC OP LIMIT`, METRIC one of METRICS (or p999), OP one of < <= > >=, LIMIT a number with
the metric's unit: latencies in ms by default or with `ms` / `s`, the error rate as `0.1%` or a
fraction, rates as plain numbers per second. Each is checked against the figure a run's summary
has, by the definition METRICS gives it; a figure that does not exist (no successful request,
so no latency) crosses its threshold: a gate never passes on missing data.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from loadtest.core.errors import ThresholdError
from loadtest.core.results import METRICS, Figures, ThresholdVerdict

_LATENCIES = ("p50", "p90", "p99", "p999")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_TERM = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*(ms|s|%)?\s*$")


@dataclass(frozen=True)
class Threshold:
    metric: str  # a METRICS key, or p999
    op: str
    limit: float  # in the unit the summary states the figure in: ms, a fraction, per second
    text: str  # as written

    def check(self, figures: Figures) -> ThresholdVerdict:
        value = figure(figures, self.metric)
        held = value is not None and _OPS[self.op](value, self.limit)
        return ThresholdVerdict(
            threshold=self.text, metric=self.metric, value=value, limit=self.limit, held=held
        )


def figure(figures: Figures, metric: str) -> float | None:
    """The summary's figure of that name: latencies in ms, the error rate as a fraction."""
    if metric in _LATENCIES:
        value: float | None = getattr(figures.latency_ms, metric)
        return value
    return float(getattr(figures, metric)) if getattr(figures, metric) is not None else None


def parse_thresholds(text: str) -> list[Threshold]:
    """`p99<200ms,error_rate<0.1%` to thresholds; ThresholdError naming the first bad term."""
    known = sorted({*METRICS, "p999"})
    out = []
    for term in (t for t in text.split(",") if t.strip()):
        match = _TERM.match(term.lower())
        if match is None:
            raise ThresholdError(f"{term.strip()!r} is not METRIC<LIMIT, e.g. p99<200ms")
        metric, op, number, unit = match.groups()
        if metric not in known:
            raise ThresholdError(
                f"{term.strip()!r}: unknown metric {metric!r}; one of {', '.join(known)}"
            )
        limit = float(number)
        if metric in _LATENCIES:
            if unit not in (None, "ms", "s"):
                raise ThresholdError(f"{term.strip()!r}: a latency takes ms or s")
            limit *= 1000.0 if unit == "s" else 1.0
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


def check_all(thresholds: list[Threshold], figures: Figures) -> list[ThresholdVerdict]:
    return [t.check(figures) for t in thresholds]


def crossed_line(verdict: ThresholdVerdict) -> str:
    """`p99<1ms (P99 was 10.3 ms)`, for the one line a crossed gate prints."""
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
