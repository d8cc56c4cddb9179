"""`embload compare A B [C ...]`: the same scenarios against 2 to 8 candidates, each judged
against the baseline (the first, or `--baseline NAME`).

Candidates are target names (config/targets.py): built in, from embload.toml, or `--target
NAME=URL`. Each scenario runs twice per candidate, half the duration each time, in the balanced
order of core/decision.py (A B C C B A), so a machine that drifts during the comparison favours
no one; the two halves are pooled. With `--serve` each candidate that says how is started in
turn (driver/serving.py), never two at once. At a candidate's last visit, while its server is
still up: the capacity search within `--slo`, the retrieval evaluation and the quality probe.
A candidate that cannot be started or reached is marked not measured and left out of the rest
of the order; the others go on, and the command ends with exit 2 naming it and its log.
Every run directory is kept under `reports/compare-<time>/`.
`embload compare RUN_DIR RUN_DIR ...` compares saved runs the same way; the statistics over
saved runs are analysis/compare.py's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from rich.console import Console

from loadtest.analysis.compare import Measured, RunSets, comparison
from loadtest.config.commands import CompareSettings, SweepSettings
from loadtest.config.settings import LoadSettings
from loadtest.config.targets import TargetSpec, load_targets
from loadtest.core.comparisons import Capacity, Comparison, ProbeResult
from loadtest.core.decision import balanced_order
from loadtest.core.errors import (
    EmbloadError,
    Interrupted,
    TargetError,
    ThresholdError,
    UsageError,
)
from loadtest.core.quality import Agreement, QualityResult
from loadtest.core.stats import cost_per_1m
from loadtest.core.thresholds import parse_thresholds
from loadtest.data import probe_pairs
from loadtest.driver.prepare import Prepared, checked
from loadtest.driver.probe import probe
from loadtest.driver.quality import agreement_of, measure_quality
from loadtest.driver.runner import run_scenario, scenario_names
from loadtest.driver.serving import Served, server_log, serving
from loadtest.driver.stopping import STOP
from loadtest.driver.sweep import sweep_on
from loadtest.store.files import COMPARE, PROBE, SUMMARY, read_vectors, writable_dir, write_json
from loadtest.store.history import history_path, index_compare
from loadtest.target.named import client_of
from loadtest.target.url import parse_target, redact

_KEPT_VECTORS = 64  # replies per run whose vectors the probe compares with idle ones
_MAX_CANDIDATES = 8
_LETTERS = "ABCDEFGH"


def labels(names: list[str]) -> list[str]:
    """Each candidate's name in the comparison: a name given twice is told apart by position."""
    return [
        f"{name} ({_LETTERS[i]})" if names.count(name) > 1 else name for i, name in enumerate(names)
    ]


@dataclass
class _Candidate:
    """One candidate as the order visits it: its target, its runs, and what else was learned."""

    spec: TargetSpec
    label: str
    letter: str
    runs: dict[str, list[Path]] = field(default_factory=dict)  # by scenario
    capacity: Capacity | None = None
    quality: QualityResult | None = None
    quality_dir: Path | None = None  # its vectors, for the agreement with the baseline
    agreement: Agreement | None = None
    probe: ProbeResult | None = None
    server_log: str | None = None
    failed: str | None = None  # the line that says why it was not measured

    def measured(self) -> Measured:
        return Measured(
            name=self.label,
            target=redact(self.spec.url),
            capacity=self.capacity,
            quality=self.quality,
            agreement=self.agreement,
            probe=self.probe,
            server_log=self.server_log,
            not_measured=self.failed,
            run_dirs=[d for dirs in self.runs.values() for d in dirs],
        )


class _Plan:
    """One compare's candidates and runs: where each run directory goes, and what each
    candidate's last visit measures."""

    def __init__(
        self, settings: CompareSettings, specs: list[TargetSpec], config: Path | None
    ) -> None:
        self.settings, self.config = settings, config
        self.out = settings.out or Path("reports") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
        writable_dir(self.out)
        self.half_s = float(max(1, math.ceil(settings.duration_s / 2)))  # Locust: whole seconds
        self.scenarios = scenario_names(",".join(settings.scenarios))
        names = labels([s.name for s in specs])
        self.candidates = [
            _Candidate(spec, name, _LETTERS[i])
            for i, (spec, name) in enumerate(zip(specs, names, strict=True))
        ]

    def load(self, c: _Candidate) -> LoadSettings:
        s = self.settings
        return LoadSettings.model_validate(
            {
                "model": c.spec.model,
                "seed": s.seed,
                "api_key": c.spec.api_key,
                "headers": c.spec.headers,
                "instruction": c.spec.instruction,
                "gpu_cost_per_hour": c.spec.gpu_cost_per_hour,
                "keep_vectors": _KEPT_VECTORS if s.probe else 0,
                "warmup": s.warmup,
            }
        )

    def visit(self, c: _Candidate, parts: tuple[int, ...], console: Console) -> None:
        """The candidate's halves of this stretch of the order, in one start of its server;
        after its last half, what is measured once. A failure of the candidate's own (its
        server, its target) marks it not measured; an interruption ends the compare."""
        if self.settings.serve and c.spec.servable:
            c.server_log = str(server_log(self.out, c.spec))
        try:
            with serving(c.spec, self.settings, self.config, self.out, console) as served:
                ready = self._prepared(c, served)
                for part in parts:
                    self._halves(c, part, ready, console)
                if 2 in parts:
                    self._last_visit(c, ready, console)
        except Interrupted:
            raise
        except EmbloadError as exc:
            c.failed = exc.prefixed(f"{c.label}: ").line
            console.print(f"[red]{c.failed}[/red]", highlight=False)

    def _prepared(self, c: _Candidate, served: Served | None) -> Prepared:
        """The same preflight as `embload run`, once per visit: the route, the model, one
        request."""
        load = self.load(c)
        target = served.server.target if served else parse_target(c.spec.url, c.spec.dialect)
        found = checked(target, load)
        return Prepared(
            found,
            load,
            served.startup if served else None,
            served.server.pid if served else None,
        )

    def _halves(self, c: _Candidate, part: int, ready: Prepared, console: Console) -> None:
        s = self.settings
        for scenario in self.scenarios:
            run_dir = self.out / f"{scenario}-{c.letter}-{c.spec.name}-{part}"
            run_dir.mkdir(parents=True, exist_ok=True)
            load = ready.load.model_copy(update={"out": run_dir})
            run_scenario(ready, load, scenario, s.users, self.half_s, console, s.processes)
            STOP.check(run_dir)  # an interrupted half ends the compare; its run keeps its part
            c.runs.setdefault(scenario, []).append(run_dir)

    def _last_visit(self, c: _Candidate, ready: Prepared, console: Console) -> None:
        s = self.settings
        if s.slo:
            c.capacity = self._capacity(c, ready, console)
        if s.quality:
            console.print(f"retrieval quality of {c.label}", highlight=False)
            c.quality_dir = writable_dir(self.out / f"quality-{c.letter}-{c.spec.name}")
            c.quality = _quality(c.spec, ready.preflight.model, c.quality_dir)
        if s.probe:
            console.print(f"probing {c.label}", highlight=False)
            kept = [v for dirs in c.runs.values() for d in dirs for v in read_vectors(d)]
            c.probe = _probe(c.spec, kept)

    def _capacity(self, c: _Candidate, ready: Prepared, console: Console) -> Capacity:
        """`embload sweep --slo`'s search on this candidate, into its own sweep directory."""
        s = self.settings
        scenario = s.slo_scenario or self.scenarios[-1]
        out = writable_dir(self.out / f"capacity-{c.letter}-{c.spec.name}")
        console.print(f"[bold]capacity of {c.label}[/bold] within {s.slo}", highlight=False)
        sweep = SweepSettings.model_validate(
            {
                **ready.load.model_dump(exclude={"out", "batch"}),  # a sweep steps its own
                "scenario": scenario,
                "duration_s": s.slo_step_s,
                "slo": s.slo,
                "precision": s.slo_precision,
                "processes": s.processes,
            }
        )
        result = sweep_on(ready, sweep, out, console)
        answer = result.answer if result.max_rps_within_slo is not None else None
        tokens = answer.tokens_per_s if answer else None
        price = c.spec.gpu_cost_per_hour
        return Capacity(
            slo=s.slo or "",
            scenario=scenario,
            sweep_dir=str(out),
            max_rps_within_slo=result.max_rps_within_slo,
            tokens_per_s=tokens,
            usd_per_1m_tokens=cost_per_1m(price, tokens) if price is not None else None,
        )


def _quality(spec: TargetSpec, served_model: str | None, out: Path) -> QualityResult:
    """The retrieval evaluation, its queries and documents marked as the target says (else as
    its model's family is trained)."""
    try:
        with client_of(spec) as client:
            marking = spec.marking(served_model)
            return measure_quality(client, marking, spec.model, out)
    except TargetError as exc:
        return QualityResult(
            target=redact(spec.url),
            model=spec.model,
            marking="",
            skipped=f"the evaluation failed: {exc.line}",
        )


def _agree(plan: _Plan, baseline: int) -> None:
    """Each candidate's vectors against the baseline's, where both were measured."""
    base = plan.candidates[baseline]
    if base.quality_dir is None or base.quality is None or base.quality.skipped:
        return
    for c in plan.candidates:
        if c is base or c.quality_dir is None or c.quality is None or c.quality.skipped:
            continue
        c.agreement = agreement_of(base.quality_dir, c.quality_dir, (base.label, c.label))


def _probe(spec: TargetSpec, sampled: list[tuple[str, np.ndarray]]) -> ProbeResult:
    try:
        with client_of(spec) as client:
            return probe(client, spec.model, probe_pairs(), sampled)
    except TargetError as exc:
        return ProbeResult(
            target=redact(spec.url), model=spec.model, skipped=f"the probe failed: {exc.line}"
        )


def _specs(names: list[str], settings: CompareSettings, config: Path | None) -> list[TargetSpec]:
    if not 2 <= len(names) <= _MAX_CANDIDATES:
        raise UsageError(f"compare takes 2 to {_MAX_CANDIDATES} candidates, got {len(names)}")
    specs = load_targets(config, settings.targets)
    unknown = [n for n in names if n not in specs]
    if unknown:
        known = ", ".join(sorted(specs))
        raise UsageError(
            f"unknown target {unknown[0]!r}; known: {known}, or define it in embload.toml"
        )
    return [specs[n] for n in names]


def _check_slo(settings: CompareSettings) -> None:
    """A bad --slo or --slo-scenario is refused before any load, not at each candidate's end."""
    if settings.slo_scenario is not None:
        scenario_names(settings.slo_scenario)
    if settings.slo:
        try:
            parse_thresholds(settings.slo)
        except ThresholdError as exc:
            raise ThresholdError(f"--slo: {exc.line}") from None


def _baseline(settings: CompareSettings, names: list[str]) -> int:
    if settings.baseline is None:
        return 0
    if settings.baseline not in names:
        raise UsageError(
            f"--baseline {settings.baseline!r} is not one of the candidates: {', '.join(names)}"
        )
    return names.index(settings.baseline)


def run_targets(
    settings: CompareSettings, names: list[str], config: Path | None, console: Console
) -> tuple[Path, Comparison]:
    """Every scenario against every candidate in the balanced order; compare.json's content."""
    specs = _specs(names, settings, config)
    baseline = _baseline(settings, names)
    _check_slo(settings)
    plan = _Plan(settings, specs, config)
    order = []
    for visit in balanced_order(len(specs)):
        c = plan.candidates[visit.candidate]
        if c.failed is None:
            order.append(c.label)
            plan.visit(c, visit.parts, console)
    _agree(plan, baseline)
    runs: dict[str, RunSets] = {
        scenario: [c.runs.get(scenario, []) for c in plan.candidates] for scenario in plan.scenarios
    }
    measured = [c.measured() for c in plan.candidates]
    result = comparison(runs, measured, baseline, settings.seed, order, settings.slo)
    return plan.out, result


def compare_anything(
    settings: CompareSettings, names: list[str], config: Path | None, console: Console
) -> tuple[Path, Comparison]:
    """Saved run directories, compared as they are; or targets, run then compared."""
    dirs = [Path(n) for n in names]
    if all((d / SUMMARY).is_file() for d in dirs):
        if not 2 <= len(dirs) <= _MAX_CANDIDATES:
            raise UsageError(f"compare takes 2 to {_MAX_CANDIDATES} runs, got {len(dirs)}")
        where = settings.out or dirs[-1].parent / ("compare-" + "-vs-".join(d.name for d in dirs))
        where.mkdir(parents=True, exist_ok=True)
        measured = [
            Measured(name=n, target=str(d), run_dirs=[d])
            for n, d in zip(labels([d.name for d in dirs]), dirs, strict=True)
        ]
        baseline = _baseline(settings, [m.name for m in measured])
        runs = {"saved": [[d] for d in dirs]}
        order = [m.name for m in measured]
        return where, comparison(runs, measured, baseline, settings.seed, order)
    where, result = run_targets(settings, names, config, console)
    db = history_path(Path("reports"), settings.history)  # where compare's own folders go
    if warning := index_compare(db, where, result, time.time()):
        console.print(f"warning: {warning}", highlight=False)
    return where, result


def write_comparison(out: Path, result: Comparison) -> Path:
    return write_json(out / COMPARE, result)


def probe_named(
    target: str, model: str | None, config: Path | None, out: Path | None
) -> tuple[Path, ProbeResult]:
    """`embload probe`: a target name or URL probed alone; its probe.json's folder and result."""
    spec = load_targets(config, []).get(target) or TargetSpec(name=target, url=target)
    try:
        client = client_of(spec)
    except UsageError as exc:
        raise UsageError(f"{target!r} is neither a known target nor a URL: {exc.line}") from None
    with client:
        result = probe(client, model or spec.model, probe_pairs())
    where = out or Path("reports") / f"probe-{datetime.now():%Y%m%d-%H%M%S}"
    where.mkdir(parents=True, exist_ok=True)
    write_json(where / PROBE, result)
    return where, result
