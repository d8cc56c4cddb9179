"""Candidates' saved runs, compared: each candidate's figures per scenario pooled over its runs
(the halves of the balanced order, or one saved run), and each metric's difference from the
baseline with a block-bootstrap interval and a verdict (core/compare.py), at the family-wise
level of core/decision.py. Then the candidates' deployment facts (memory, start-up, cost,
capacity) and the Pareto front. What `embload compare` of targets or run directories, and
`embload history`'s regression verdicts, are computed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from loadtest.core.columns import concat
from loadtest.core.compare import SideData, compare_sides, pooled, side_data
from loadtest.core.comparisons import (
    Candidate,
    Capacity,
    Comparison,
    Pareto,
    ProbeResult,
    ScenarioComparison,
    Side,
    Versus,
)
from loadtest.core.decision import Point, family_level, pareto_front
from loadtest.core.quality import Agreement, QualityResult
from loadtest.core.results import RunSummary
from loadtest.core.stats import cost, figures
from loadtest.store.files import read_summary
from loadtest.store.table import read_columns

LEVEL = 0.95  # what the family of a metric's N - 1 intervals holds at together

# One scenario's run directories: each candidate's, in the candidates' order.
RunSets = list[list[Path]]


@dataclass(frozen=True)
class Measured:
    """What the driver learned of a candidate besides its runs."""

    name: str
    target: str  # redacted url, or the saved run's directory
    capacity: Capacity | None = None
    quality: QualityResult | None = None
    agreement: Agreement | None = None
    probe: ProbeResult | None = None
    server_log: str | None = None
    not_measured: str | None = None
    run_dirs: list[Path] = field(default_factory=list)  # every scenario's


def _side(name: str, run_dirs: list[Path]) -> tuple[Side, SideData]:
    summaries = [read_summary(d) for d in run_dirs]
    columns = [read_columns(d, timing=False) for d in run_dirs]
    parts = [
        side_data(c, s.started_at_unix, s.duration_s)
        for c, s in zip(columns, summaries, strict=True)
    ]
    duration_s = sum(s.duration_s for s in summaries)
    first = summaries[0]
    overall = figures(concat(columns), duration_s)
    return (
        Side(
            **dict(overall),
            candidate=name,
            run_dirs=[str(d) for d in run_dirs],
            target=first.target,
            model=first.model,
            weights=first.server_model.weights if first.server_model else None,
            duration_s=duration_s,
            oom_events=sum(len(s.oom_events) for s in summaries),
            peak_gpu_mem_bytes=_peak_gpu(summaries),
            peak_rss_bytes=_peak_rss(summaries),
            startup_s=first.startup.ready_s if first.startup else None,
            # the candidate's price over its pooled rates
            cost=cost(first.cost.usd_per_hour, overall) if first.cost is not None else None,
        ),
        pooled(parts),
    )


def _peak_gpu(summaries: list[RunSummary]) -> int | None:
    """The highest GPU memory over these runs (a scenario's halves, or all of a candidate's)."""
    return _peak([s.gpu.peak_mem_used_bytes if s.gpu else None for s in summaries])


def _peak_rss(summaries: list[RunSummary]) -> int | None:
    """The server process tree's highest RSS over these runs, where its PID was known."""
    return _peak([s.server_process.peak_rss_bytes if s.server_process else None for s in summaries])


def _peak(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def compare_runs(
    run_sets: RunSets, names: list[str], baseline: int, seed: int, level: float = LEVEL
) -> ScenarioComparison:
    """One scenario's comparison of every candidate with run directories in it; each against
    the baseline (by position) when it has runs, at `level` per interval."""
    measured = [(n, d) for n, d in zip(names, run_sets, strict=True) if d]
    sides = {n: _side(n, d) for n, d in measured}
    base = names[baseline]
    versus = [
        Versus(
            candidate=name,
            differences=compare_sides(sides[base][1], data, (base, name), seed, level),
        )
        for name, (_, data) in sides.items()
        if name != base and base in sides
    ]
    scenario = read_summary(measured[0][1][0]).scenario
    return ScenarioComparison(
        scenario=scenario, baseline=base, sides=[side for side, _ in sides.values()], versus=versus
    )


def candidate(m: Measured) -> Candidate:
    """A candidate's deployment facts, from its runs' summaries and what the driver measured."""
    summaries = [read_summary(d) for d in m.run_dirs]
    cards = [s.server_model for s in summaries if s.server_model is not None]
    card = cards[0] if cards else None
    priced = [s.cost for s in summaries if s.cost is not None]
    heaviest = summaries[-1] if summaries else None
    return Candidate(
        name=m.name,
        target=m.target,
        model=summaries[0].model if summaries else None,
        weights=card.weights if card else None,
        quantize=card.quantize if card else None,
        weight_bytes=card.weight_bytes if card else None,
        load_s=card.load_s if card else None,
        startup_s=next((s.startup.ready_s for s in summaries if s.startup), None),
        peak_gpu_mem_bytes=_peak_gpu(summaries),
        peak_rss_bytes=_peak_rss(summaries),
        usd_per_hour=priced[0].usd_per_hour if priced else None,
        usd_per_1m_tokens=heaviest.cost.usd_per_1m_tokens
        if heaviest is not None and heaviest.cost is not None
        else None,
        capacity=m.capacity,
        quality=m.quality,
        agreement=m.agreement,
        probe=m.probe,
        server_log=m.server_log,
        not_measured=m.not_measured,
    )


def quality_score(c: Candidate) -> float | None:
    """The one figure of retrieval quality the front weighs: nDCG@10 over all pairs."""
    if c.quality is None or c.quality.overall is None:
        return None
    return c.quality.overall.ndcg_at_10


def pareto(candidates: list[Candidate]) -> Pareto | None:
    """The front over capacity (or cost at capacity, where every candidate has a price) and
    retrieval quality; None unless every measured candidate has both."""
    quality = {c.name: q for c in candidates if (q := quality_score(c)) is not None}
    ranked = [c for c in candidates if c.not_measured is None]
    if len(ranked) < 2 or any(c.capacity is None or c.name not in quality for c in ranked):
        return None
    caps = [c.capacity for c in ranked if c.capacity is not None]
    if all(c.usd_per_1m_tokens is not None for c in caps):
        points = [
            Point(c.name, -(cap.usd_per_1m_tokens or 0.0), quality[c.name])
            for c, cap in zip(ranked, caps, strict=True)
        ]
        return Pareto(speed="cost", front=pareto_front(points))
    points = [
        Point(c.name, cap.max_rps_within_slo or 0.0, quality[c.name])
        for c, cap in zip(ranked, caps, strict=True)
    ]
    return Pareto(speed="capacity", front=pareto_front(points))


def comparison(
    scenarios: dict[str, RunSets],
    measured: list[Measured],
    baseline: int,
    seed: int,
    order: list[str],
    slo: str | None = None,
) -> Comparison:
    """compare.json: every scenario's comparison, every candidate's facts, the front."""
    names = [m.name for m in measured]
    level = family_level(LEVEL, len(names))
    candidates = [candidate(m) for m in measured]
    return Comparison(
        baseline=names[baseline],
        candidates=candidates,
        order=order,
        level=level,
        seed=seed,
        generated_at=datetime.now().astimezone().isoformat(),
        scenarios=[
            compare_runs(sets, names, baseline, seed, level)
            for sets in scenarios.values()
            if any(sets)
        ],
        slo=slo,
        pareto=pareto(candidates),
    )
