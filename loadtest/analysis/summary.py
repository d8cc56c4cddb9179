"""summary.json from a run directory's files and what the load side knew: what a run's end does.

The records are read once: their timing columns first and on their own (at ten million records
of an open loop against TEI they are the widest part), then every other column, which the
summary and the report both use (`write_summary` hands them back for the report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loadtest.analysis.stability import Span, stability
from loadtest.core.arrivals import ArrivalCount, LoadShape, load_figures
from loadtest.core.columns import RecordColumns
from loadtest.core.results import RunMeta, RunSummary, TraceFigures, WarmupFigures
from loadtest.core.stats import server_time, summarize
from loadtest.core.thresholds import Threshold
from loadtest.store.files import SUMMARY, read_telemetry, write_json
from loadtest.store.table import read_columns, read_timing, warmup_span


@dataclass(frozen=True)
class RunEnd:
    """What the load side knows of a run beyond its files, at its end."""

    meta: RunMeta
    duration_s: float
    load_start: float  # wall clock: when the load started
    load: LoadShape
    arrivals: ArrivalCount | None = None  # an open loop's, all processes together
    server_pids: tuple[int, ...] = ()
    oom_threshold: float = 0.95
    usd_per_hour: float | None = None
    thresholds: tuple[Threshold, ...] = field(default_factory=tuple)
    trace: TraceFigures | None = None  # `replayed` is counted from the records here
    warmup: str | None = None  # --warmup as the user gave it; None: none asked
    stability_min_span_s: float = 600.0


def _warmup(run_dir: Path, end: RunEnd) -> tuple[WarmupFigures | None, float]:
    """The warm-up's figures, and how long the measured part ran: the load's duration less the
    warm-up's, so rates divide by the time their requests had."""
    if end.warmup is None:
        return None, end.duration_s
    requests, until = warmup_span(run_dir)
    figures = WarmupFigures(asked=end.warmup, requests=requests, until_unix=until)
    if until is None:
        return figures, end.duration_s
    return figures, max(1e-9, end.duration_s - max(0.0, until - end.load_start))


def write_summary(run_dir: Path, end: RunEnd) -> tuple[RunSummary, RecordColumns]:
    """summary.json written from the run's files and `end`; the summary, and the records'
    columns (all but the timing ones) for the report to draw from."""
    warmup, duration_s = _warmup(run_dir, end)
    timing = read_timing(run_dir)
    timed = server_time(timing), load_figures(end.load, end.arrivals, timing, duration_s)
    del timing  # before the other columns: both at once are the peak
    columns = read_columns(run_dir, timing=False)
    trace = end.trace
    if trace is not None:
        kept = 0 if columns.trace_line is None else int(columns.trace_line.size)
        trace = trace.model_copy(update={"replayed": kept + (warmup.requests if warmup else 0)})
    telemetry = read_telemetry(run_dir, end.server_pids, end.oom_threshold)
    until = warmup.until_unix if warmup else None
    span = Span(end.load_start, end.duration_s, until, end.stability_min_span_s)
    summary = summarize(
        columns,
        telemetry,
        end.meta,
        duration_s=duration_s,
        load_start=end.load_start,
        server_time_ms=timed[0],
        load=timed[1],
        usd_per_hour=end.usd_per_hour,
        thresholds=end.thresholds,
        trace=trace,
        warmup=warmup,
        stability=stability(run_dir, telemetry, columns, span),
    )
    write_json(run_dir / SUMMARY, summary)
    return summary, columns
