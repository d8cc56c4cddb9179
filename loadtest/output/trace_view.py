"""`embload trace show|synth|from-run` on the terminal: a trace's figures as one table, its rate
over time as a sparkline (80 columns), and where a trace was written."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loadtest.core.trace_stats import Spread, TraceStats
from loadtest.output.formats import number
from loadtest.output.terminal import sparkline, styled_table
from loadtest.store.run_traces import RunTrace
from loadtest.store.traces import TraceInfo

_SPARK_CHARS = 74  # with its label, the sparkline fits 80 columns


def _spread(s: Spread | None, mean: bool = False) -> str:
    if s is None:
        return "-"
    head = f"mean {s.mean:,.1f} · " if mean else ""
    return f"{head}p50 {s.p50:,.0f} · p99 {s.p99:,.0f} · max {s.max:,}"


def _burstiness(cv: float | None) -> str:
    if cv is None:
        return "-"
    word = "even" if cv < 0.1 else "poisson-like" if cv < 1.2 else "bursty"
    return f"{cv:.2f} ({word}: 0 even, 1 poisson, above 1 bursty)"


def trace_table(stats: TraceStats, path: str) -> Table:
    table = styled_table(f"trace {path}", caption=stats.note)
    table.show_header = False
    table.add_column("", no_wrap=True)
    table.add_column("")
    peak = f" · peak {number(stats.peak_rate_rps)}" if stats.peak_rate_rps is not None else ""
    rows = [
        ("requests", f"{stats.requests:,}"),
        ("span", f"{stats.span_s:,.1f} s (first at {stats.first_s:,.3f} s)"),
        ("rate, req/s", f"mean {number(stats.mean_rate_rps)}{peak} ({stats.bin_s:g} s bins)"),
        ("gap CV", _burstiness(stats.gap_cv)),
        ("inputs/request", _spread(stats.inputs_per_request, mean=True)),
    ]
    if stats.input_tokens is not None:
        rows.append(("input tokens", _spread(stats.input_tokens)))
    if stats.input_chars is not None:
        rows.append(("input chars", _spread(stats.input_chars)))
    total = sum(stats.categories.values()) or 1
    shares = [f"{k} {n / total:.0%}" for k, n in stats.categories.items()]
    rows.append(("categories", " · ".join(shares) or "-"))
    for label, value in rows:
        table.add_row(label, value)
    return table


def rate_lines(stats: TraceStats) -> list[str]:
    """The rate over time as one sparkline: a character per bin, or per two where more than
    fit; its range beneath."""
    rates, bin_s = stats.rate_rps, stats.bin_s
    while len(rates) > _SPARK_CHARS:
        pairs = [rates[i : i + 2] for i in range(0, len(rates), 2)]
        rates, bin_s = [sum(p) / len(p) for p in pairs], bin_s * 2
    if not rates:
        return []
    return [
        f"rate  {sparkline(list(rates))}",
        f"      {len(rates)} × {bin_s:g} s from the first request; "
        f"{number(min(rates))} to {number(max(rates))} req/s",
    ]


def print_trace(console: Console, stats: TraceStats, path: str) -> None:
    console.print(trace_table(stats, path))
    for line in rate_lines(stats):
        console.print(line, highlight=False)


def written_lines(info: TraceInfo, run_trace: RunTrace | None = None) -> list[str]:
    """Where a trace went, its size, and (from a run) whether its texts are the run's own."""
    lines = [f"trace: {info.path} · {info.lines:,} requests over {info.span_s:,.1f} s"]
    if run_trace is not None:
        if run_trace.exact:
            lines.append("texts: exact, the run's own (drawn again, every request's chars checked)")
        else:
            lines.append(f"texts: not exact: {run_trace.reason}")
        lines += [f"note: {note}" for note in run_trace.notes]
    lines.append(f"sha256: {info.sha256}")
    return lines
