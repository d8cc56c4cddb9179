"""report.html's "Stability" section: what summary.json's `stability` judged, drawn.

Each memory series' samples with the floor line its fit found, and the windowed P99 with its
fitted line, each under its verdict in words. The samples are those the fits were made of
(analysis/stability.py picks them), drawn as each bin's lowest and highest, so a day sampled
every second is still a thin line of a thousand points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from loadtest.analysis.stability import gpu_series, remote_rss
from loadtest.core.columns import RecordColumns
from loadtest.core.results import RunSummary
from loadtest.core.stability import MIN_WINDOW_REQUESTS, DriftFit, GrowthFit, windowed
from loadtest.output import charts
from loadtest.output.trace_html import replay_section
from loadtest.store.files import (
    read_gpu_samples,
    read_loadgen_samples,
    read_process_samples,
    read_server_metrics,
)

_MIB = 1 << 20
_MINUTE_S = 60.0
_HOUR_S = 3600.0
_ENVELOPE_BINS = 600  # a bin's lowest and highest sample each: at most 1,200 points drawn
_TITLES = {
    "server_rss": "Server memory (RSS)",
    "gpu_memory": "GPU memory",
    "embload_rss": "embload's own memory (RSS)",
}
_X_LABEL = "minutes since the load started"


def report_sections(s: RunSummary, run_dir: Path, cols: RecordColumns) -> dict[str, Any]:
    """The template's `stability` and `replay` (None where the run has neither)."""
    return {
        "stability": _stability(s, run_dir, cols),
        "replay": replay_section(s.trace, s, run_dir, cols) if s.trace is not None else None,
    }


def _minutes(times_s: np.ndarray | list[float], t0: float) -> np.ndarray:
    return (np.asarray(times_s, dtype=float) - t0) / _MINUTE_S


def _samples(run_dir: Path, s: RunSummary, series: str) -> tuple[np.ndarray, np.ndarray]:
    """The series a fit was made of (Unix s, bytes), picked as analysis/stability.py picks it."""
    times: list[float]
    values: list[float]
    if series == "gpu_memory":
        pids = (s.server_process.pid,) if s.server_process is not None else ()
        _, times, values = gpu_series(read_gpu_samples(run_dir), pids)
    else:
        own = series == "embload_rss"
        procs = read_loadgen_samples(run_dir) if own else read_process_samples(run_dir)
        times, values = [p.time for p in procs], [float(p.rss_bytes) for p in procs]
        if not own and not procs:  # a remote server: its own /metrics
            times, values = remote_rss(read_server_metrics(run_dir))
    t, v = np.asarray(times, dtype=float), np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def _envelope(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each bin's lowest and highest sample in time order: what a line through every sample
    shows, its floors and its peaks, in a bounded number of points."""
    if t.size <= 2 * _ENVELOPE_BINS:
        return t, v
    width = (float(t[-1]) - float(t[0])) / _ENVELOPE_BINS
    picked = [windowed(t, v, width, stat, end_s=float(t[-1])).chosen for stat in ("min", "max")]
    index = np.unique(np.concatenate(picked))  # positions, so sorted is time order
    return t[index], v[index]


def _memory_chart(
    fit: GrowthFit, t: np.ndarray, v: np.ndarray, t0: float, settle: tuple[float, str]
) -> str:
    fig, ax = charts.figure()
    shown_t, shown_v = _envelope(t, v)
    x = _minutes(shown_t, t0)
    charts.shade(ax, min(0.0, float(x.min())), (settle[0] - t0) / _MINUTE_S, settle[1])
    ax.plot(x, shown_v / _MIB, color=charts.BLUE, linewidth=0.7, label="samples")
    if fit.level_bytes is not None and fit.per_hour_bytes is not None:
        ends = np.array([fit.start_s, fit.start_s + fit.span_s])
        floor = fit.level_bytes + fit.per_hour_bytes * (ends - fit.start_s) / _HOUR_S
        leak = fit.verdict == "leak_suspected"
        color = charts.RED if leak else charts.ORANGE
        ax.plot(_minutes(ends, t0), floor / _MIB, "--", color=color, linewidth=1.8, label="floor")
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel("MiB")
    ax.legend(**charts.LEGEND, ncols=3)
    return charts.to_svg(fig)


def _drift_chart(
    drift: DriftFit, cols: RecordColumns, t0: float, settle: tuple[float, str]
) -> str | None:
    """The P99 of successful requests per window, as the drift was fitted: by each request's
    end, in windows of the fit's width from its start."""
    if drift.level_s is None or drift.per_hour_pct is None:
        return None
    ok = cols.ok
    ends_s = (cols.start_time + cols.latency_s)[ok]
    start, stop = drift.start_s, drift.start_s + drift.span_s
    p99 = windowed(
        ends_s, cols.latency_s[ok], drift.window_s, "p99", start_s=start, end_s=stop,
        min_count=MIN_WINDOW_REQUESTS,
    )  # fmt: skip
    if not p99.value.size:
        return None
    fig, ax = charts.figure()
    charts.shade(ax, 0.0, (settle[0] - t0) / _MINUTE_S, settle[1])
    label = f"P99 per {drift.window_s:.0f} s window"
    x = _minutes(p99.at_s, t0)
    ax.plot(x, p99.value * 1000, "o-", color=charts.BLUE, markersize=2.5, linewidth=1, label=label)
    span = np.array([start, stop])
    fitted_ms = drift.level_s * 1000 * (1 + drift.per_hour_pct / 100 * (span - start) / _HOUR_S)
    color = charts.RED if drift.verdict == "drifting" else charts.ORANGE
    ax.plot(_minutes(span, t0), fitted_ms, "--", color=color, linewidth=1.8, label="fitted")
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel("P99 latency (ms)")
    ax.set_ylim(bottom=0)
    ax.legend(**charts.LEGEND, ncols=3)
    return charts.to_svg(fig)


def _stability(s: RunSummary, run_dir: Path, cols: RecordColumns) -> dict[str, Any] | None:
    st = s.stability
    if st is None:
        return None
    asked = s.warmup is not None and s.warmup.requests > 0
    left_out = "warm-up, not fitted" if asked else "settling, not fitted"
    settle = (st.warmup_end_s if st.warmup_end_s is not None else s.started_at_unix, left_out)
    shown: list[dict[str, Any]] = []
    words_only: list[str] = []  # fits with too little data (or, rarely, samples gone since)
    for fit in (st.server_rss, st.gpu_memory, st.embload_rss):
        if fit is None:
            continue
        t, v = _samples(run_dir, s, fit.series)
        if fit.verdict == "too_little_data" or not t.size:
            words_only.append(fit.words)
            continue
        caption = (
            f"Thin line: {fit.source}, sampled ({fit.samples:,} samples after warm-up); dashed: "
            f"the floor fitted, {fit.method}; grey: {left_out}."
        )
        svg = _memory_chart(fit, t, v, s.started_at_unix, settle)
        entry = charts.chart(
            f"stability-{fit.series.replace('_', '-')}", _TITLES[fit.series], svg, caption
        )
        shown.append(entry | {"words": fit.words, "bad": fit.verdict == "leak_suspected"})
    drift = st.p99_drift
    drawn = _drift_chart(drift, cols, s.started_at_unix, settle) if drift is not None else None
    if drift is not None and drawn is not None:
        caption = (
            f"The P99 of successful requests in {drift.windows} windows of {drift.window_s:.0f} s "
            f"by their end; dashed: its Theil–Sen line; grey: {left_out}."
        )
        entry = charts.chart("stability-p99", "P99 over the run", drawn, caption)
        shown.append(entry | {"words": drift.words, "bad": drift.verdict == "drifting"})
    elif drift is not None:
        words_only.append(drift.words)
    if not shown and not words_only:
        return None
    return {"charts": shown, "words_only": words_only, "method": st.method}
