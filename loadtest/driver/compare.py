"""`embload compare A B`: the same scenarios against two targets, and the verdict per metric.

Targets are names (config/targets.py): built in, from embload.toml, or `--target NAME=URL`.
Each scenario runs twice per target, half the duration each time, in ABBA order (A, B, B, A),
so a machine that drifts slower or faster during the comparison does not favour either side;
the two halves are pooled. With `--serve` each target's bundled server runs in turn, never two
at once: A's first halves, then B's both halves, then A's second halves (A is started twice).
Every run directory is kept under `reports/compare-<time>/`.
`embload compare RUN_DIR RUN_DIR` compares two saved runs the same way; the statistics over
saved runs are analysis/compare.py's.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from rich.console import Console

from loadtest.analysis.compare import Position, RunPairs, comparison
from loadtest.config.commands import CompareSettings
from loadtest.config.settings import LoadSettings
from loadtest.config.targets import TargetSpec, load_targets
from loadtest.core.comparisons import Comparison, ProbeResult
from loadtest.core.errors import TargetError, UsageError
from loadtest.data import builtin_corpus, probe_pairs
from loadtest.driver.prepare import Prepared, checked
from loadtest.driver.probe import probe
from loadtest.driver.runner import run_scenario, scenario_names
from loadtest.driver.serving import Served, serving
from loadtest.driver.stopping import STOP
from loadtest.store.files import COMPARE, PROBE, SUMMARY, read_vectors, writable_dir, write_json
from loadtest.store.history import history_path, index_compare
from loadtest.target.client import EmbeddingsClient
from loadtest.target.preflight import find_route
from loadtest.target.url import parse_target, redact

_KEPT_VECTORS = 64  # replies per run whose vectors the probe compares with idle ones
_POSITIONS: tuple[Position, Position] = ("a", "b")


def client_of(spec: TargetSpec) -> EmbeddingsClient:
    """A client at the target's embeddings route: asked for, when its url is a bare host."""
    target = parse_target(spec.url, spec.dialect)
    client = EmbeddingsClient(target, api_key=spec.api_key, headers=spec.headers)
    if target.probe:
        client.target = find_route(client, target, builtin_corpus()[0].text, spec.model)
    return client


class _Plan:
    """One compare's runs: where each run directory goes, and the probe of each target."""

    def __init__(self, settings: CompareSettings, specs: tuple[TargetSpec, TargetSpec]) -> None:
        self.settings, self.specs = settings, specs
        self.out = settings.out or Path("reports") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
        writable_dir(self.out)
        self.half_s = float(max(1, math.ceil(settings.duration_s / 2)))  # Locust: whole seconds
        self.scenarios = scenario_names(",".join(settings.scenarios))
        self.dirs: dict[str, RunPairs] = {s: ([], []) for s in self.scenarios}
        self.probes: dict[Position, ProbeResult] = {}

    def runs(self, side: int, part: int, served: Served | None, console: Console) -> None:
        spec, s = self.specs[side], self.settings
        load = LoadSettings.model_validate(
            {
                "model": spec.model,
                "seed": s.seed,
                "api_key": spec.api_key,
                "headers": spec.headers,
                "instruction": spec.instruction,
                "gpu_cost_per_hour": spec.gpu_cost_per_hour,
                "keep_vectors": _KEPT_VECTORS if s.probe else 0,
            }
        )
        # the same preflight as `embload run`, once per half: the route, the model, one request
        try:
            target = served.server.target if served else parse_target(spec.url, spec.dialect)
            found = checked(target, load)
        except (TargetError, UsageError) as exc:
            raise exc.prefixed(f"{spec.name}: ") from None
        ready = Prepared(
            found,
            load,
            served.startup if served else None,
            served.server.pid if served else None,
        )
        for scenario in self.scenarios:
            # by position, so `compare x x` keeps both sides apart
            run_dir = self.out / f"{scenario}-{'AB'[side]}-{spec.name}-{part}"
            run_dir.mkdir(parents=True, exist_ok=True)
            scenario_load = load.model_copy(update={"out": run_dir})
            run_scenario(ready, scenario_load, scenario, s.users, self.half_s, console, s.processes)
            STOP.check(run_dir)  # an interrupted half ends the compare; its run keeps its part
            self.dirs[scenario][side].append(run_dir)
        if part == 2 and s.probe:
            console.print(f"probing {spec.name}", highlight=False)
            kept = [v for pair in self.dirs.values() for d in pair[side] for v in read_vectors(d)]
            self.probes[_POSITIONS[side]] = _probe(spec, kept)


def run_targets(
    settings: CompareSettings, names: tuple[str, str], config: Path | None, console: Console
) -> tuple[Path, dict[str, RunPairs], dict[Position, ProbeResult]]:
    """Run every scenario against both targets in ABBA halves, then probe each while it is up."""
    specs = load_targets(config, settings.targets)
    for name in names:
        if name not in specs:
            known = ", ".join(sorted(specs))
            raise UsageError(
                f"unknown target {name!r}; known: {known}, or define it in embload.toml"
            )
    plan = _Plan(settings, (specs[names[0]], specs[names[1]]))
    order = ((0, (1,)), (1, (1, 2)), (0, (2,)))  # A, B B, A: each side's halves around the middle
    for side, parts in order:
        with serving(plan.specs[side], settings, config, plan.out, console) as served:
            for part in parts:
                plan.runs(side, part, served, console)
    return plan.out, plan.dirs, plan.probes


def _probe(spec: TargetSpec, sampled: list[tuple[str, np.ndarray]]) -> ProbeResult:
    try:
        with client_of(spec) as client:
            return probe(client, spec.model, probe_pairs(), sampled)
    except TargetError as exc:
        return ProbeResult(
            target=redact(spec.url), model=spec.model, skipped=f"the probe failed: {exc.line}"
        )


def compare_anything(
    settings: CompareSettings, names: tuple[str, str], config: Path | None, console: Console
) -> tuple[Path, Comparison]:
    """Two saved run directories, compared as they are; or two targets, run then compared."""
    dir_a, dir_b = (Path(n) for n in names)
    if (dir_a / SUMMARY).is_file() and (dir_b / SUMMARY).is_file():
        where = settings.out or dir_b.parent / f"compare-{dir_a.name}-vs-{dir_b.name}"
        where.mkdir(parents=True, exist_ok=True)
        pairs = {"saved": ([dir_a], [dir_b])}
        return where, comparison(pairs, (dir_a.name, dir_b.name), settings.seed, {})
    where, pairs, probes = run_targets(settings, names, config, console)
    result = comparison(pairs, names, settings.seed, probes)
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
