"""`embload compare A B`: the same scenarios against two targets, and the verdict per metric.

Targets are names: built in (`qwen` at :30000, `bge` at :30001, as sglang users run them),
from embload.toml (`[targets.NAME]`: url, model, api_key_env, instruction, headers, and a
`serve` table of `embload serve` options), or `--target NAME=URL`.
Each scenario runs twice per target, half the duration each time, in ABBA order (A, B, B, A),
so a machine that drifts slower or faster during the comparison does not favour either side;
the two halves are pooled. With `--serve` each target's bundled server runs in turn, never two
at once: A's first halves, then B's both halves, then A's second halves (A is started twice).
Every run directory is kept under `reports/compare-<time>/`.
`embload compare RUN_DIR RUN_DIR` compares two saved runs the same way.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
from rich.console import Console

from loadtest.bundled import BundledServer, ServeError, bundled_server
from loadtest.client import (
    EmbeddingFailed,
    EmbeddingsClient,
    Target,
    TargetUnreachable,
    parse_target,
    redact,
)
from loadtest.core.columns import concat
from loadtest.core.compare import SideData, compare_sides, pooled, side_data
from loadtest.core.dialects import DIALECTS, Dialect
from loadtest.core.results import Comparison, ProbeResult, ScenarioComparison, Side
from loadtest.core.stats import cost, figures
from loadtest.data import builtin_corpus, probe_pairs
from loadtest.history import history_path, index_compare
from loadtest.options import SettingsError, config_path, override, read_config, resolve
from loadtest.probe import probe
from loadtest.routes import PreflightFailed, find_route
from loadtest.runner import RunError, preflight, run_scenario, scenario_names
from loadtest.settings import CompareSettings, LoadSettings, ServeSettings
from loadtest.stopping import STOP
from loadtest.store import (
    SUMMARY,
    NotWritable,
    read_summary,
    read_vectors,
    writable_dir,
    write_json,
)
from loadtest.table import read_columns

BUILTIN_TARGETS: dict[str, dict[str, Any]] = {
    "qwen": {
        "url": "http://127.0.0.1:30000/v1",
        "model": "Qwen3-Embedding-0.6B",
        "serve": {"model": "qwen"},
    },
    "bge": {"url": "http://127.0.0.1:30001/v1", "model": "bge-m3", "serve": {"model": "bge"}},
}
_KEPT_VECTORS = 64  # replies per run whose vectors the probe compares with idle ones
_TARGET_KEYS = {
    "url",
    "model",
    "api_key_env",
    "instruction",
    "headers",
    "serve",
    "gpu_cost_per_hour",
    "dialect",
}

# One scenario's run directories: A's, then B's (two each for an ABBA run).
RunPairs = tuple[list[Path], list[Path]]
Position = Literal["a", "b"]
_POSITIONS: tuple[Position, Position] = ("a", "b")


@dataclass(frozen=True)
class TargetSpec:
    name: str
    url: str
    model: str | None = None
    api_key_env: str | None = None  # the variable holding its key; the key itself is never kept
    instruction: str | None = None  # queries sent as "Instruct: {instruction}\nQuery:{text}"
    headers: dict[str, str] = field(default_factory=dict)  # extra HTTP headers, never recorded
    serve: dict[str, Any] = field(default_factory=dict)  # `embload serve` options for --serve
    gpu_cost_per_hour: float | None = None  # USD: its runs' cost per 1M tokens
    dialect: Dialect | None = None  # the API it speaks, when its url does not say

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def client(self) -> EmbeddingsClient:
        """A client at the target's embeddings route: asked for, when its url is a bare host.
        ValueError for a url that is none; TargetUnreachable or PreflightFailed when asking."""
        target = parse_target(self.url, self.dialect)
        client = EmbeddingsClient(target, api_key=self.api_key, headers=self.headers)
        if target.probe:
            client.target = find_route(client, target, builtin_corpus()[0].text, self.model)
        return client


def _parse(spec: TargetSpec) -> Target:
    try:
        return parse_target(spec.url, spec.dialect)
    except ValueError as exc:
        raise RunError(f"{spec.name}: {exc}") from None


def load_targets(config: Path | None, overrides: list[str]) -> dict[str, TargetSpec]:
    """Built-ins, then embload.toml's `[targets.NAME]`, then `--target NAME=URL`."""
    raw: dict[str, dict[str, Any]] = {k: dict(v) for k, v in BUILTIN_TARGETS.items()}
    try:
        path = config_path(config)
        tables = read_config(path).get("targets", {})
    except SettingsError as exc:
        raise RunError(str(exc)) from None
    for name, table in tables.items():
        unknown = set(table) - _TARGET_KEYS
        if unknown:
            raise RunError(f"target {name!r} in {path}: unknown keys {', '.join(sorted(unknown))}")
        raw[name] = {**raw.get(name, {}), **table}
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise RunError(f"--target {item!r} is not NAME=URL")
        raw[name] = {**raw.get(name, {}), "url": url}
    specs = {}
    for name, table in raw.items():
        if "url" not in table:
            raise RunError(f"target {name!r} has no url")
        if not isinstance(table.get("serve", {}), dict):
            raise RunError(f"target {name!r}: serve is a table of `embload serve` options")
        specs[name] = TargetSpec(
            name=name,
            url=str(table["url"]),
            model=table.get("model"),
            api_key_env=table.get("api_key_env"),
            instruction=table.get("instruction"),
            headers={str(k): str(v) for k, v in table.get("headers", {}).items()},
            serve=dict(table.get("serve", {})),
            gpu_cost_per_hour=_price(name, table.get("gpu_cost_per_hour")),
            dialect=_dialect(name, table.get("dialect")),
        )
    return specs


def _dialect(name: str, value: object) -> Dialect | None:
    if value is None or value in DIALECTS:
        return value
    raise RunError(f"target {name!r}: dialect is one of {', '.join(DIALECTS)}")


def _price(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RunError(f"target {name!r}: gpu_cost_per_hour is USD per hour, a number >= 0")
    return float(value)


def _serve_settings(
    spec: TargetSpec, settings: CompareSettings, config: Path | None
) -> ServeSettings:
    """The target's `serve` table over [serve] and EMBLOAD_SERVER_*, on its url's port."""
    parts = urlsplit(spec.url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        raise RunError(
            f"--serve needs {spec.name}'s url on 127.0.0.1 with a port; it is {redact(spec.url)}"
        )
    table = {**spec.serve, "port": parts.port}
    if settings.random_weights:
        table["random_weights"] = True
    try:
        return override(resolve(ServeSettings, config=config), table, f"target {spec.name} serve")
    except SettingsError as exc:
        raise RunError(str(exc)) from None


class _Plan:
    """One compare's runs: where each run directory goes, and the probe of each target."""

    def __init__(self, settings: CompareSettings, specs: tuple[TargetSpec, TargetSpec]) -> None:
        self.settings, self.specs = settings, specs
        self.out = settings.out or Path("reports") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
        try:
            writable_dir(self.out)
        except NotWritable as exc:
            raise RunError(str(exc)) from None
        self.half_s = float(max(1, math.ceil(settings.duration_s / 2)))  # Locust: whole seconds
        self.scenarios = scenario_names(",".join(settings.scenarios))
        self.dirs: dict[str, RunPairs] = {s: ([], []) for s in self.scenarios}
        self.probes: dict[Position, ProbeResult] = {}

    def runs(self, side: int, part: int, server: BundledServer | None, console: Console) -> None:
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
        target, model = preflight(server.target if server else _parse(spec), load)
        load = load.model_copy(update={"model": model, "dialect": target.dialect})
        for scenario in self.scenarios:
            # by position, so `compare x x` keeps both sides apart
            run_dir = self.out / f"{scenario}-{'AB'[side]}-{spec.name}-{part}"
            run_dir.mkdir(parents=True, exist_ok=True)
            scenario_load = load.model_copy(update={"out": run_dir})
            run_scenario(
                scenario_load, scenario, s.users, self.half_s, target, console, server, s.processes
            )
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
            raise RunError(f"unknown target {name!r}; known: {known}, or define it in embload.toml")
    plan = _Plan(settings, (specs[names[0]], specs[names[1]]))
    order = ((0, (1,)), (1, (1, 2)), (0, (2,)))  # A, B B, A: each side's halves around the middle
    for side, parts in order:
        with _server(plan.specs[side], settings, config, plan.out, console) as server:
            for part in parts:
                plan.runs(side, part, server, console)
    return plan.out, plan.dirs, plan.probes


@contextmanager
def _server(
    spec: TargetSpec, settings: CompareSettings, config: Path | None, out: Path, console: Console
) -> Iterator[BundledServer | None]:
    if not settings.serve:
        yield None
        return
    serve = _serve_settings(spec, settings, config)
    console.print(f"starting {spec.name}: embload serve on :{serve.port}", highlight=False)
    try:
        with bundled_server(serve, out / f"server-{spec.name}.log") as server:
            yield server
    except ServeError as exc:
        raise RunError(f"{spec.name}: {exc}") from None


def _probe(spec: TargetSpec, sampled: list[tuple[str, np.ndarray]]) -> ProbeResult:
    try:
        with spec.client() as client:
            return probe(client, spec.model, probe_pairs(), sampled)
    except (EmbeddingFailed, TargetUnreachable, PreflightFailed) as exc:
        return ProbeResult(
            target=redact(spec.url), model=spec.model, skipped=f"the probe failed: {exc}"
        )


def _side(run_dirs: list[Path]) -> tuple[str, Side, SideData]:
    """One side's scenario, its figures (METRICS, over its pooled requests) and its data for
    the bootstrap."""
    summaries = [read_summary(d) for d in run_dirs]
    columns = [read_columns(d, timing=False) for d in run_dirs]
    parts = [
        side_data(c, s.started_at_unix, s.duration_s)
        for c, s in zip(columns, summaries, strict=True)
    ]
    duration_s = sum(s.duration_s for s in summaries)
    first = summaries[0]
    gpu_peaks = [s.gpu.peak_mem_used_bytes for s in summaries if s.gpu]
    side = Side(
        **dict(figures(concat(columns), duration_s)),
        run_dirs=[str(d) for d in run_dirs],
        target=first.target,
        model=first.model,
        weights=first.server_model.weights if first.server_model else None,
        duration_s=duration_s,
        oom_events=sum(len(s.oom_events) for s in summaries),
        peak_gpu_mem_bytes=max(gpu_peaks) if gpu_peaks else None,
        startup_s=first.startup.ready_s if first.startup else None,
    )
    if first.cost is not None:  # the side's price over its pooled rates
        side = side.model_copy(update={"cost": cost(first.cost.usd_per_hour, side)})
    return first.scenario, side, pooled(parts)


def compare_runs(
    dirs_a: list[Path], dirs_b: list[Path], names: tuple[str, str], seed: int
) -> ScenarioComparison:
    """One scenario's comparison; each side one run directory or the halves of an ABBA run."""
    (scenario, a, data_a), (_, b, data_b) = _side(dirs_a), _side(dirs_b)
    return ScenarioComparison(
        scenario=scenario,
        a=a,
        b=b,
        differences=compare_sides(data_a, data_b, names, seed),
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


def comparison(
    pairs: dict[str, RunPairs],
    names: tuple[str, str],
    seed: int,
    probes: dict[Position, ProbeResult],
) -> Comparison:
    return Comparison(
        a=names[0],
        b=names[1],
        seed=seed,
        generated_at=datetime.now().astimezone().isoformat(),
        scenarios=[compare_runs(da, db, names, seed) for da, db in pairs.values()],
        probe=probes,
    )


def write_comparison(out: Path, result: Comparison) -> Path:
    return write_json(out / "compare.json", result)


def probe_named(
    target: str, model: str | None, config: Path | None, out: Path | None
) -> tuple[Path, ProbeResult]:
    """`embload probe`: a target name or URL probed alone; its probe.json's folder and result."""
    spec = load_targets(config, []).get(target) or TargetSpec(name=target, url=target)
    try:
        client = spec.client()
    except ValueError as exc:
        raise RunError(f"{target!r} is neither a known target nor a URL: {exc}") from None
    except (TargetUnreachable, PreflightFailed) as exc:
        raise RunError(str(exc)) from None
    try:
        with client:
            result = probe(client, model or spec.model, probe_pairs())
    except (TargetUnreachable, EmbeddingFailed) as exc:
        raise RunError(str(exc)) from None
    where = out or Path("reports") / f"probe-{datetime.now():%Y%m%d-%H%M%S}"
    where.mkdir(parents=True, exist_ok=True)
    write_json(where / "probe.json", result)
    return where, result
