"""The exit-code policy of what ran, in one place: what `embload run` exits with, what a plain
`locust -f` run of an embload scenario exits with (from the same summaries), and what a sweep's
thresholds and a compare's regression gate make of their results.

In order, the first that holds: records could not be written (2); a signal cut the run short
(130, 143); the server stopped answering (1); a `--fail-on` threshold was crossed (3); requests
failed and no error-rate threshold said how many may (1). Otherwise all is well (0).

Plain Locust keeps two choices of its own: its `--exit-code-on-error` for failed requests, and
130 or 143 after a signal, which it settles before it stops the test (loadgen/hooks.py).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path

from loadtest.core.compare import regressions
from loadtest.core.comparisons import Comparison
from loadtest.core.errors import (
    EmbloadError,
    Interrupted,
    Regressed,
    RequestsFailed,
    ThresholdCrossed,
)
from loadtest.core.results import RunSummary, ThresholdVerdict
from loadtest.core.stability import Stability
from loadtest.core.sweep import SweepResult
from loadtest.core.thresholds import crossed_line
from loadtest.core.types import OomKind

Run = tuple[Path, RunSummary]  # a run directory and its summary


def run_outcome(runs: Sequence[Run]) -> EmbloadError | None:
    """The error a command that ran these ends with; None when all is well."""
    for run_dir, s in runs:
        if s.write_error:
            return EmbloadError(
                f"{s.write_error}: the load stopped there; what was written is kept in {run_dir}"
            )
    for run_dir, s in runs:
        if s.interrupted:  # as a shell reports a process a signal ended: 130, 143
            return Interrupted(signal.Signals[s.interrupted].value, run_dir)
    failed = sum(s.requests - s.ok for _, s in runs)
    crashes = [e for _, s in runs for e in s.oom_events if e.kind == OomKind.SERVER_CRASH]
    if crashes:
        return RequestsFailed(
            f"the server stopped answering during the run ({crashes[0].evidence}); "
            f"{failed:,} requests failed, every one is in records.jsonl of its run"
        )
    judged = [(v, s.stability) for _, s in runs for v in s.thresholds]
    if crossed := _crossed(judged):
        return crossed
    # an error-rate threshold that held is the user's tolerance for failed requests
    tolerated = any(v.metric == "error_rate" for v, _ in judged)
    if failed and not tolerated:
        return RequestsFailed(
            f"{failed:,} requests failed; every one is in records.jsonl of its run"
        )
    return None


def _crossed(
    judged: Sequence[tuple[ThresholdVerdict, Stability | None]],
) -> ThresholdCrossed | None:
    """Every crossed threshold's line; a stability one says whether its fit had too little
    data or was not measured at all."""
    lines = [crossed_line(v, stability=st) for v, st in judged if not v.held]
    if not lines:
        return None
    return ThresholdCrossed("threshold crossed: " + "; ".join(lines))


def sweep_outcome(result: SweepResult) -> EmbloadError | None:
    """A sweep's --fail-on, judged on its answer."""
    return _crossed([(v, None) for v in result.thresholds])


def compare_outcome(result: Comparison, threshold: float | None) -> EmbloadError | None:
    """A candidate not measured (it could not start or be reached: exit 2, naming it), else
    --fail-on-regression: a candidate significantly worse than the baseline by more than
    `threshold`."""
    missing = [c for c in result.candidates if c.not_measured]
    if missing:
        return EmbloadError("not measured: " + "; ".join(c.not_measured or c.name for c in missing))
    if threshold is None:
        return None
    worse = regressions(result.scenarios, threshold)
    if not worse:
        return None
    return Regressed(f"worse than {result.baseline} beyond {threshold:.0%}: " + "; ".join(worse))
