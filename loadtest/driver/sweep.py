"""`embload sweep`: one fresh run per step of load against one target, then the sweep's answer.

Steps are stepped (`--rates`, `--users`, `--batch`) or searched (`--slo` alone: a closed-loop
run of one user first, for the low-load latency and a first rate, then core/sweep.py's
bracket-and-bisect over open-loop rates). Each step is a whole run directory under the sweep's
(`01-rate-40/`...), with its summary.json and report.html, so any step can be opened, reported
or compared like any run. sweep.json holds every step's figures, the knee and the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console

from loadtest.config.commands import SweepSettings
from loadtest.config.settings import ServeSettings
from loadtest.core.errors import ThresholdError, UsageError
from loadtest.core.results import RunSummary, ThresholdVerdict
from loadtest.core.sweep import (
    SweepKind,
    SweepResult,
    SweepStep,
    conclude,
    find_knee,
    next_rate,
    step_of,
)
from loadtest.core.thresholds import Threshold, check_all, parse_thresholds
from loadtest.driver.prepare import Prepared, prepared
from loadtest.driver.runner import run_scenario, scenario_file
from loadtest.driver.stopping import STOP
from loadtest.store.files import SWEEP, writable_dir, write_json
from loadtest.store.history import history_path, index_sweep
from loadtest.target.url import redact

_MIN_FIRST_RATE = 0.5  # req/s: where a search starts when one user barely got anything through


def _thresholds(text: str | None, flag: str) -> list[Threshold]:
    if not text:
        return []
    try:
        return parse_thresholds(text)
    except ThresholdError as exc:
        raise ThresholdError(f"{flag}: {exc.line}") from None


def _kind(settings: SweepSettings) -> SweepKind:
    if settings.users:
        return "users"
    if settings.batch:
        return "batch"
    if settings.rates or settings.slo:
        return "rates"
    raise UsageError(
        "nothing to sweep: give --slo to search rates, or steps with --rates, --users or --batch"
    )


def sweep_dir(settings: SweepSettings, now: datetime) -> Path:
    out = settings.out or settings.reports / f"sweep-{now:%Y%m%d-%H%M%S}"
    if (out / SWEEP).exists():
        raise UsageError(f"{out} already holds a sweep; pick another --out")
    return writable_dir(out)


@dataclass
class _Stepper:
    """Runs one step: its directory, its run, its figures, a line for the terminal; keeps each
    step's summary for --fail-on."""

    settings: SweepSettings
    ready: Prepared
    out: Path
    slo: list[Threshold]
    console: Console
    summaries: dict[str, RunSummary] = field(default_factory=dict)  # by run directory name

    def __call__(
        self, label: str, load: float, rate: float | None, users: int | None, batch: int | None
    ) -> SweepStep:
        s = self.settings
        number = len(self.summaries) + 1
        name = f"{number:02d}-{label}"
        run_dir = self.out / name
        run_dir.mkdir()
        self.console.print(f"[bold]step {number}[/bold] {label.replace('-', ' ')}")
        update = {"out": run_dir, "rate_rps": rate, "batch": batch}
        result = run_scenario(
            self.ready,
            self.ready.load.model_copy(update=update),
            s.scenario,
            users,
            s.duration_s,
            self.console,
            s.processes,
        )
        STOP.check(run_dir)  # an interrupted step ends the sweep; its run keeps what it had
        self.summaries[name] = result.summary
        step = step_of(result.summary, name, load, self.slo)
        p99 = "-" if step.p99_ms is None else f"{step.p99_ms:.1f} ms"
        verdict = {None: "", True: " · within the SLO", False: " · outside the SLO"}
        self.console.print(
            f"  {step.qps:.1f} req/s, {step.inputs_per_s:.1f} inputs/s, P99 {p99}, "
            f"errors {step.error_rate:.2%}{verdict[step.within_slo]}",
            highlight=False,
        )
        return step


def _search(
    settings: SweepSettings, step: Callable[..., SweepStep]
) -> tuple[SweepStep, list[SweepStep]]:
    """A closed-loop baseline of one user, then rates until the bracket is narrow enough."""
    baseline = step("baseline-1-user", 1, None, 1, None)
    first = round(max(baseline.qps, _MIN_FIRST_RATE), 1)
    steps: list[SweepStep] = []
    while len(steps) + 1 < settings.max_steps:
        rate = next_rate(first, steps, settings.precision)
        if rate is None:
            break
        rate = round(rate, 1)
        if any(s.load == rate for s in steps):  # the bracket is finer than a tenth
            break
        steps.append(step(f"rate-{rate:g}", rate, rate, settings.max_in_flight, None))
    return baseline, steps


def run_sweep(
    settings: SweepSettings, serve: ServeSettings | None, console: Console
) -> tuple[Path, SweepResult]:
    """Every step against one target (started here with `serve`); sweep.json written."""
    _kind(settings)
    scenario_file(settings.scenario)
    _thresholds(settings.slo, "--slo")  # refused before a server starts
    _thresholds(settings.fail_on, "--fail-on")
    out = sweep_dir(settings, datetime.now())
    with prepared(settings, settings.target, serve, console) as ready:
        result = sweep_on(ready, settings, out, console)
    db = history_path(settings.reports, settings.history)
    if warning := index_sweep(db, out, result, time.time()):
        console.print(f"warning: {warning}", highlight=False)
    return out, result


def sweep_on(ready: Prepared, settings: SweepSettings, out: Path, console: Console) -> SweepResult:
    """Every step against a target already prepared (`embload sweep`, or a compare's capacity
    search of a candidate), into `out`; sweep.json written."""
    kind = _kind(settings)
    slo = _thresholds(settings.slo, "--slo")
    fail_on = _thresholds(settings.fail_on, "--fail-on")
    settings = settings.model_copy(update={"fail_on": None})  # judged on the answer, not per step
    baseline = None
    step = _Stepper(settings, ready, out, slo, console)
    if kind == "rates" and not settings.rates:
        baseline, steps = _search(settings, step)
    elif kind == "rates":
        cap = settings.max_in_flight
        steps = [step(f"rate-{r:g}", r, r, cap, None) for r in sorted(settings.rates)]
    elif kind == "users":
        steps = [step(f"users-{u}", u, None, u, None) for u in sorted(settings.users)]
    else:
        rate = settings.rate_rps
        users = settings.max_in_flight if rate is not None else settings.fixed_users
        steps = [step(f"batch-{b}", b, rate, users, b) for b in sorted(settings.batch)]
    knee = find_knee(kind, steps, settings.knee_factor)
    max_rps, best_batch, answer = conclude(kind, steps, knee, bool(slo))
    result = SweepResult(
        kind=kind,
        searched=baseline is not None,
        target=redact(ready.target.base_url),
        scenario=settings.scenario,
        duration_s=settings.duration_s,
        slo=settings.slo,
        baseline=baseline,
        steps=steps,
        max_rps_within_slo=max_rps,
        knee=knee,
        best_batch=best_batch,
        answer=answer,
        thresholds=_judge(fail_on, step.summaries, answer),
    )
    write_json(out / SWEEP, result)
    return result


def _judge(
    fail_on: list[Threshold], summaries: dict[str, RunSummary], answer: SweepStep | None
) -> list[ThresholdVerdict]:
    """--fail-on on the answer's run; with no answer every threshold is crossed."""
    if answer is not None:
        answered = summaries[answer.run_dir]
        return check_all(fail_on, answered, stability=answered.stability)
    return [
        ThresholdVerdict(threshold=t.text, metric=t.metric, value=None, limit=t.limit, held=False)
        for t in fail_on
    ]
