"""report.html's trace replay: the rate the trace offered against the rate the run sent.

The trace is counted again, streaming (core/trace_stats.py), and only when the file still has
the bytes the run replayed: a rate of other traffic would be drawn as if it had been offered.
Otherwise the run's own sends are drawn alone, with one line of why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loadtest.core.columns import RecordColumns
from loadtest.core.errors import TraceError
from loadtest.core.results import RunSummary, TraceFigures
from loadtest.core.trace_stats import TraceAccumulator
from loadtest.output import charts
from loadtest.output.formats import number
from loadtest.store.table import read_columns
from loadtest.store.traces import file_sha256, read_trace

_MINUTE_S = 60.0
_RATE_BINS = 120  # as many as core/trace_stats.py counts a trace's rate in
_FIRST_BIN_S = 2.0**-10  # and its narrowest, doubled until the bins fit
_ONLY = "only the achieved rate is drawn."


@dataclass(frozen=True)
class _Bins:
    """Equal bins of the run's clock from `start_s` (Unix s); the last may cover less."""

    start_s: float
    width_s: float
    count: int
    last_s: float  # how much of the last bin is covered

    def edges(self) -> np.ndarray:
        inner = self.start_s + self.width_s * np.arange(self.count, dtype=float)
        return np.append(inner, inner[-1] + self.last_s)


def _achieved_rps(sent_s: np.ndarray, bins: _Bins) -> np.ndarray:
    edges = bins.edges()
    counts, _ = np.histogram(sent_s, edges)
    return counts / np.diff(edges)


def _own_bins(sent_s: np.ndarray) -> _Bins:
    """Bins of the run's sends alone, as wide as a trace of that span would get."""
    start = float(sent_s.min())
    span = float(sent_s.max()) - start
    width = 2.0 ** math.ceil(math.log2(max(span / _RATE_BINS, _FIRST_BIN_S)))
    count = max(1, math.ceil(span / width))
    return _Bins(start, width, count, max(span - (count - 1) * width, width / 2))


def _offered(
    trace: TraceFigures, sent_s: np.ndarray, lines: np.ndarray | None
) -> tuple[_Bins, np.ndarray] | str:
    """The trace's rate on the run's clock, in its own bins; or why it cannot be drawn.

    A replay sends line i at the loop's start plus its time over the speed, and records that due
    time as its start: the run's earliest line and its time in the trace place the trace."""
    path = Path(trace.path)
    if not path.is_file():  # as the run was given it: a relative one, from where embload ran
        where = "" if path.is_absolute() else f" from {Path.cwd()}"
        return f"The trace {trace.path} is not found{where}: {_ONLY}"
    try:
        now = file_sha256(path)
    except OSError as exc:
        return f"The trace {trace.path} cannot be read ({exc.strerror}): {_ONLY}"
    if now != trace.sha256:
        return (
            f"The trace {trace.path} has changed since the run (sha256 {now[:12]}, the run's "
            f"{trace.sha256[:12]}): {_ONLY}"
        )
    anchor_line, due_s = None, float(sent_s.min())
    if lines is not None and np.isfinite(lines).any():
        first = int(np.nanargmin(lines))
        anchor_line, due_s = int(lines[first]), float(sent_s[first])
    counted, anchor_t = TraceAccumulator(), None
    try:
        for request in read_trace(path):
            counted.add(request)
            if request.line == anchor_line:
                anchor_t = request.t_s
    except TraceError as exc:
        return f"{exc}: {_ONLY}"
    stats = counted.stats()
    if not stats.rate_rps:
        return f"The trace {trace.path} has no requests: {_ONLY}"
    anchor_t = stats.first_s if anchor_t is None else anchor_t
    first_s = due_s - (anchor_t - stats.first_s) / trace.speed
    n = len(stats.rate_rps)
    width = stats.bin_s / trace.speed
    covered = (stats.span_s - (n - 1) * stats.bin_s) / trace.speed
    bins = _Bins(first_s, width, n, min(width, covered) if covered > 0 else width)
    return bins, np.asarray(stats.rate_rps, dtype=float) * trace.speed


def _rate_chart(
    bins: _Bins, offered_rps: np.ndarray | None, sent_s: np.ndarray, t0: float, until: float | None
) -> str:
    fig, ax = charts.figure()
    edges = (bins.edges() - t0) / _MINUTE_S
    if until is not None:
        charts.shade(ax, float(edges[0]), (until - t0) / _MINUTE_S, "warm-up")
    if offered_rps is not None:
        ax.stairs(offered_rps, edges, color=charts.ORANGE, linewidth=1.6, label="offered (trace)")
    achieved = _achieved_rps(sent_s, bins)
    ax.stairs(achieved, edges, color=charts.BLUE, linewidth=1.2, label="achieved (sent)")
    ax.set_xlabel("minutes since the load started")
    ax.set_ylabel("requests per second")
    ax.set_ylim(bottom=0)
    ax.legend(**charts.LEGEND, ncols=3)
    return charts.to_svg(fig)


def replay_section(
    trace: TraceFigures, s: RunSummary, run_dir: Path, cols: RecordColumns
) -> dict[str, Any]:
    """The template's `replay`: the trace's one line, why the trace is not drawn (if so), and the
    chart."""
    lags: tuple[float | None, ...] = (None, None, None)
    if s.load is not None:
        lags = (s.load.send_lag_p50_ms, s.load.send_lag_p99_ms, s.load.send_lag_max_ms)
    line = (
        f"{Path(trace.path).name} · sha256 {trace.sha256[:12]} · {trace.lines:,} requests over "
        f"{trace.span_s:,.1f} s · speed {trace.speed:g}× · {trace.replayed:,} replayed · send "
        "lag P50 {} / P99 {} / max {} ms".format(*(number(x) for x in lags))
    )
    # the warm-up's requests were sent too: the store leaves them out unless asked
    if s.warmup is not None and s.warmup.requests > 0:
        cols = read_columns(run_dir, timing=False, warmup=True)
    if not len(cols):
        return {"line": line, "reason": "No request was recorded: nothing to draw.", "chart": None}
    offered = _offered(trace, cols.start_time, cols.trace_line)
    until = s.warmup.until_unix if s.warmup is not None else None
    sent = "the requests the run sent, by their due time (warm-up's included)"
    if isinstance(offered, str):
        bins = _own_bins(cols.start_time)
        svg = _rate_chart(bins, None, cols.start_time, s.started_at_unix, until)
        caption = f"Requests per second in {bins.width_s:g} s bins: {sent}."
        return {
            "line": line,
            "reason": offered,
            "chart": charts.chart("trace-offered", "Achieved", svg, caption),
        }
    bins, offered_rps = offered
    svg = _rate_chart(bins, offered_rps, cols.start_time, s.started_at_unix, until)
    caption = (
        f"Requests per second in {bins.width_s:g} s bins: the trace's arrivals (their times over "
        f"the speed) against {sent}."
    )
    title = "Offered (the trace) against achieved"
    return {
        "line": line,
        "reason": None,
        "chart": charts.chart("trace-offered", title, svg, caption),
    }
