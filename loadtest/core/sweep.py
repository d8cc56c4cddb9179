"""A sweep: one run per step of load (rate, users or batch size), what each step showed, where
the endpoint saturates (the knee), and the answer: the highest rate within the SLO, or the
batch size that embeds most texts per second.

The rate search is a pure function of the steps so far (`next_rate`): it doubles from the
first rate while the SLO holds, halves while it fails, then bisects the bracket until it is
`precision` narrow. A step holds the SLO when every threshold holds and the generator got the
offered rate through: nothing dropped, and at least 95% of the offered rate answered, since a
rate the endpoint cannot keep up with only looks fine until its queue has grown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loadtest.core.results import RunSummary, ThresholdVerdict
from loadtest.core.thresholds import Threshold, check_all

SweepKind = Literal["rates", "users", "batch"]
KEPT_UP = 0.95  # answered / offered at or above this: the endpoint kept up with the rate
FLAT = 1.05  # a closed loop whose QPS grows less than this with more users has saturated
_LOWEST_RATE = 0.1  # req/s: a search that fails even here stops


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SweepStep(_Model):
    """One run of the sweep and its figures."""

    load: float = Field(description="the step's rate (req/s), users, or batch size")
    run_dir: str
    offered_rps: float | None
    users: int | None
    batch: int
    requests: int
    error_rate: float
    qps: float
    inputs_per_s: float
    tokens_per_s: float | None = Field(
        default=None, description="null where the server reports no token counts"
    )
    achieved_rps: float
    p50_ms: float | None
    p99_ms: float | None
    dropped: int
    late: int
    slo: list[ThresholdVerdict] = Field(description="each SLO threshold on this step")
    within_slo: bool | None = Field(description="null without an SLO")


class Knee(_Model):
    load: float = Field(description="the first step (by load) that shows saturation")
    reason: str


class SweepResult(_Model):
    """sweep.json."""

    schema_version: Literal[1] = 1
    kind: SweepKind = Field(description="what the steps vary: rates (open loop), users, batch")
    searched: bool = Field(description="rates found by bracketing and bisecting the SLO")
    target: str
    scenario: str
    duration_s: float = Field(description="of each step")
    slo: str | None
    baseline: SweepStep | None = Field(
        description="a search's first run, one user closed loop: low-load latency, first rate"
    )
    steps: list[SweepStep] = Field(description="in the order they ran")
    max_rps_within_slo: float | None = Field(
        description="the highest offered rate whose step held the SLO"
    )
    knee: Knee | None
    best_batch: int | None = Field(description="the batch size with the most inputs/s")
    answer: SweepStep | None = Field(
        description="the step --fail-on judges: the highest within the SLO, the best batch, "
        "or the last before the knee"
    )
    thresholds: list[ThresholdVerdict] = Field(default_factory=list)


def step_of(summary: RunSummary, run_dir: str, load: float, slo: Sequence[Threshold]) -> SweepStep:
    """A step's figures from its run's summary, with its SLO verdicts."""
    lf = summary.load
    verdicts = check_all(list(slo), summary, stability=summary.stability) if slo else []
    offered = lf.offered_rps if lf else None
    achieved = lf.achieved_rps if lf else summary.qps
    kept_up = offered is None or ((lf.dropped if lf else 0) == 0 and achieved >= KEPT_UP * offered)
    return SweepStep(
        load=load,
        run_dir=run_dir,
        offered_rps=offered,
        users=summary.users if offered is None else None,
        batch=summary.inputs_per_request,
        requests=summary.requests,
        error_rate=summary.error_rate,
        qps=summary.qps,
        inputs_per_s=summary.inputs_per_s,
        tokens_per_s=summary.tokens_per_s,
        achieved_rps=achieved,
        p50_ms=summary.latency_ms.p50,
        p99_ms=summary.latency_ms.p99,
        dropped=lf.dropped if lf else 0,
        late=lf.late if lf else 0,
        slo=verdicts,
        within_slo=(all(v.held for v in verdicts) and kept_up) if slo else None,
    )


def next_rate(first: float, steps: Sequence[SweepStep], precision: float) -> float | None:
    """The rate the search runs next, or None when it is done."""
    if not steps:
        return first
    held = [s.load for s in steps if s.within_slo]
    failed = [s.load for s in steps if not s.within_slo]
    if not failed:
        return 2 * max(held)
    if not held:
        low = min(failed) / 2
        return low if low >= _LOWEST_RATE else None
    lo = max(held)
    above = [f for f in failed if f > lo]
    if not above:  # noisy: a lower rate failed, a higher one held; go on up
        return 2 * lo
    hi = min(above)
    return None if hi <= lo * (1 + precision) else (lo + hi) / 2


def find_knee(kind: SweepKind, steps: Sequence[SweepStep], factor: float) -> Knee | None:
    """Where saturation first shows, by load: a rate the endpoint answered less than 95% of, a
    closed loop whose QPS stopped growing, or P99 past `factor` times its low-load value (the
    lowest step's: an open loop's own queueing, not a lone user's, is the reference)."""
    if kind == "batch" or not steps:
        return None
    ordered = sorted(steps, key=lambda s: s.load)
    low_p99 = ordered[0].p99_ms
    previous: SweepStep | None = None
    for step in ordered:
        if step.offered_rps is not None and step.achieved_rps < KEPT_UP * step.offered_rps:
            return Knee(
                load=step.load,
                reason=f"answered {step.achieved_rps:.1f} of {step.offered_rps:g} req/s offered",
            )
        if kind == "users" and previous is not None and step.qps < FLAT * previous.qps:
            return Knee(
                load=step.load,
                reason=f"QPS {step.qps:.1f} at {step.load:g} users, "
                f"{previous.qps:.1f} at {previous.load:g}",
            )
        if low_p99 and step.p99_ms is not None and step.p99_ms > factor * low_p99:
            return Knee(
                load=step.load,
                reason=f"P99 {step.p99_ms:.1f} ms, over {factor:g}x its low-load {low_p99:.1f} ms",
            )
        previous = step
    return None


def conclude(
    kind: SweepKind,
    steps: Sequence[SweepStep],
    knee: Knee | None,
    has_slo: bool,
) -> tuple[float | None, int | None, SweepStep | None]:
    """(max rate within the SLO, best batch, the answer step)."""
    held = [s for s in steps if s.within_slo] if has_slo else list(steps)
    if kind == "batch":
        best = max(held, key=lambda s: s.inputs_per_s, default=None)
        return None, best.batch if best else None, best
    if has_slo:
        top = max(held, key=lambda s: s.load, default=None)
        max_rps = top.offered_rps if top and kind == "rates" else None
        return max_rps, None, top
    before = [s for s in steps if knee is None or s.load < knee.load]
    return None, None, max(before, key=lambda s: s.load, default=None)
