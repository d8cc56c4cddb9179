"""`embload trace synth|show|from-run`: a trace made from a shape of load, a trace's figures, and
a past run's traffic as a trace (docs/traces.md)."""

from __future__ import annotations

from pathlib import Path

from loadtest.config.commands import TraceSynthSettings
from loadtest.core.errors import TraceError, UsageError
from loadtest.core.payloads import SCENARIOS
from loadtest.core.trace_shapes import Shape, scenario_mix, synthesize
from loadtest.core.trace_stats import TraceStats, trace_stats
from loadtest.store.run_traces import RunTrace, trace_from_run
from loadtest.store.traces import TraceInfo, read_trace, trace_format, write_trace

FROM_RUN = "trace.jsonl"  # from-run's trace, in the run directory, unless --out says


def synth(s: TraceSynthSettings) -> TraceInfo:
    scenario = SCENARIOS.get(s.scenario)
    if scenario is None:
        raise UsageError(f"unknown scenario {s.scenario!r}; pick from {', '.join(SCENARIOS)}")
    if s.out is None:
        raise UsageError("give --out FILE: the trace to write (.jsonl or .csv)")
    trace_format(s.out)  # a name that is neither: one line before anything is drawn
    try:
        shape = Shape(
            s.shape,
            s.rate_rps,
            s.duration_s,
            rate_to_rps=s.rate_to_rps,
            burstiness=s.burstiness,
            spike_x=s.spike_x,
            spike_every_s=s.spike_every_s,
            spike_s=s.spike_s,
        )
    except ValueError as exc:
        raise UsageError(f"{exc}") from None
    return write_trace(s.out, synthesize(shape, scenario_mix(scenario, s.inputs), s.seed))


def show(path: Path) -> TraceStats:
    stats = trace_stats(read_trace(path))
    if not stats.requests:
        raise TraceError(f"trace {path} has no requests")
    return stats


def from_run(run_dir: Path, out: Path | None = None) -> tuple[TraceInfo, RunTrace]:
    path = out if out is not None else run_dir / FROM_RUN
    trace_format(path)
    run_trace = trace_from_run(run_dir)
    return write_trace(path, run_trace), run_trace
