"""`embload compare A B`: the same scenarios against two targets, and the verdict per metric.

Targets are names: built in (`qwen` at :30000, `bge` at :30001, as sglang users run them),
from `embload.toml` (`[targets.NAME]` url, model, api_key_env, instruction, headers, serve), or
`--target NAME=URL`.
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
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from rich.console import Console

from loadtest.bundled import ServeError, bundled_server
from loadtest.client import TargetUnreachable, parse_target
from loadtest.core.compare import Side, combined, compare_sides, side_of
from loadtest.core.stats import latency_ms
from loadtest.probe import ProbeError, probe
from loadtest.runner import RunError, RunOptions, run_scenario
from loadtest.store import read_record_columns, read_summary, read_vectors, write_json

BUILTIN_TARGETS = {
    "qwen": {
        "url": "http://127.0.0.1:30000/v1",
        "model": "Qwen3-Embedding-0.6B",
        "serve": ["--model", "qwen"],
    },
    "bge": {"url": "http://127.0.0.1:30001/v1", "model": "bge-m3", "serve": ["--model", "bge"]},
}
_KEPT_VECTORS = 64  # replies per run whose vectors the probe compares with idle ones

# One scenario's run directories: A's, then B's (two each for an ABBA run).
RunPairs = tuple[list[Path], list[Path]]


@dataclass(frozen=True)
class TargetSpec:
    name: str
    url: str
    model: str | None = None
    api_key_env: str | None = None  # the variable holding its key; the key itself is never kept
    serve: tuple[str, ...] = ()  # `embload serve` arguments for --serve
    instruction: str | None = None  # queries sent as "Instruct: {instruction}\nQuery:{text}"
    headers: dict[str, str] = field(default_factory=dict)  # extra HTTP headers, never recorded


def load_targets(config: Path | None, overrides: list[str]) -> dict[str, TargetSpec]:
    """Built-ins, then embload.toml's `[targets.NAME]`, then `--target NAME=URL`."""
    raw: dict[str, dict[str, Any]] = {k: dict(v) for k, v in BUILTIN_TARGETS.items()}
    path = config or Path("embload.toml")
    if path.is_file():
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise RunError(f"{path} is not valid TOML: {exc}") from None
        for name, table in doc.get("targets", {}).items():
            raw[name] = {**raw.get(name, {}), **table}
    elif config is not None:
        raise RunError(f"config file {config} does not exist")
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise RunError(f"--target {item!r} is not NAME=URL")
        raw[name] = {**raw.get(name, {}), "url": url}
    specs = {}
    for name, table in raw.items():
        if "url" not in table:
            raise RunError(f"target {name!r} has no url")
        specs[name] = TargetSpec(
            name=name,
            url=str(table["url"]),
            model=table.get("model"),
            api_key_env=table.get("api_key_env"),
            serve=tuple(str(a) for a in table.get("serve", ())),
            instruction=table.get("instruction"),
            headers={str(k): str(v) for k, v in table.get("headers", {}).items()},
        )
    return specs


@dataclass(frozen=True)
class CompareOptions:
    names: tuple[str, str]
    scenarios: list[str]
    duration_s: float
    serve: bool = False
    random_weights: bool = False
    probe: bool = True
    out: Path | None = None
    reports: Path = Path("reports")
    seed: int = 0
    users: int | None = None
    config: Path | None = None
    overrides: list[str] = field(default_factory=list)


def _serve_args(spec: TargetSpec, random_weights: bool) -> tuple[str, ...]:
    args = spec.serve or ("--model", "minilm", "--truncate")
    return (*args, "--random-weights") if random_weights else args


def _port(spec: TargetSpec) -> int:
    port = urlsplit(spec.url).port
    if urlsplit(spec.url).hostname not in ("127.0.0.1", "localhost") or port is None:
        raise RunError(
            f"--serve needs {spec.name}'s url on 127.0.0.1 with a port; it is {spec.url}"
        )
    return port


def run_targets(
    opts: CompareOptions, console: Console
) -> tuple[Path, dict[str, RunPairs], dict[str, Any]]:
    """Run every scenario against both targets in ABBA halves, then probe each while it is up.

    Returns the comparison's directory, each scenario's run directories, and the probes.
    """
    specs = load_targets(opts.config, opts.overrides)
    for name in opts.names:
        if name not in specs:
            known = ", ".join(sorted(specs))
            raise RunError(f"unknown target {name!r}; known: {known}, or define it in embload.toml")
    a, b = (specs[n] for n in opts.names)
    out = opts.out or opts.reports / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    half = float(max(1, math.ceil(opts.duration_s / 2)))  # Locust runs whole seconds
    dirs: dict[str, RunPairs] = {s: ([], []) for s in opts.scenarios}
    probes: dict[str, Any] = {}

    def one(spec: TargetSpec, part: int, server: Any) -> None:
        for scenario in opts.scenarios:
            run_dir = _run_one(opts, spec, scenario, part, half, out, console, server)
            dirs[scenario][0 if spec is a else 1].append(run_dir)
        if part == 2 and opts.probe:
            console.print(f"probing {spec.name}", highlight=False)
            runs = [d for pair in dirs.values() for d in pair[0 if spec is a else 1]]
            probes[spec.name] = _probe(spec, [v for d in runs for v in read_vectors(d)])

    if not opts.serve:
        for spec, part in ((a, 1), (b, 1), (b, 2), (a, 2)):
            one(spec, part, None)
        return out, dirs, _in_order(probes, opts.names)
    for spec, parts in ((a, (1,)), (b, (1, 2)), (a, (2,))):
        args = _serve_args(spec, opts.random_weights)
        log = out / f"server-{spec.name}.log"
        console.print(f"starting {spec.name}: embload serve {' '.join(args)}", highlight=False)
        try:
            with bundled_server(_port(spec), log, args) as server:
                for part in parts:
                    one(spec, part, server)
        except ServeError as exc:
            raise RunError(f"{spec.name}: {exc}") from None
    return out, dirs, _in_order(probes, opts.names)


def _in_order(probes: dict[str, Any], names: tuple[str, str]) -> dict[str, Any]:
    return {name: probes[name] for name in names if name in probes}


def _probe(spec: TargetSpec, sampled: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    try:
        return probe(parse_target(spec.url), spec.model, api_key, sampled, spec.headers)
    except (ProbeError, httpx.HTTPError) as exc:
        return {"target": spec.url, "model": spec.model, "skipped": f"the probe failed: {exc}"}


def _run_one(
    opts: CompareOptions,
    spec: TargetSpec,
    scenario: str,
    part: int,
    duration_s: float,
    out: Path,
    console: Console,
    server: Any,
) -> Path:
    target = parse_target(spec.url)
    api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    run_opts = RunOptions(
        target=spec.url,
        scenarios=[scenario],
        duration_s=duration_s,
        model=spec.model,
        users=opts.users,
        seed=opts.seed,
        api_key=api_key,
        keep_vectors=_KEPT_VECTORS if opts.probe else 0,
        instruction=spec.instruction,
        headers=spec.headers or None,
    )
    run_dir = out / f"{scenario}-{spec.name}-{part}"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_scenario(run_opts, scenario, target, spec.model, run_dir, console, server)
    return run_dir


def _side(run_dir: Path) -> tuple[Side, dict[str, Any]]:
    summary = read_summary(run_dir)
    cols = read_record_columns(run_dir)
    t0 = float(summary.get("started_at_unix") or (cols.start_time.min() if len(cols) else 0.0))
    return side_of(cols, t0, float(summary["duration_s"])), summary


def compare_runs(
    dirs_a: list[Path], dirs_b: list[Path], names: tuple[str, str], seed: int
) -> dict[str, Any]:
    """One scenario's comparison; each side one run directory or the halves of an ABBA run."""
    sides, figures = [], []
    for run_dirs in (dirs_a, dirs_b):
        parts = [_side(d) for d in run_dirs]
        side = combined([p[0] for p in parts])
        sides.append(side)
        figures.append(_figures(side, [p[1] for p in parts], run_dirs))
    diffs = compare_sides(sides[0], sides[1], names, seed)
    return {
        "scenario": figures[0]["scenario"],
        "a": figures[0],
        "b": figures[1],
        "differences": [asdict(d) for d in diffs],
    }


def _figures(side: Side, summaries: list[dict[str, Any]], run_dirs: list[Path]) -> dict[str, Any]:
    """One side's figures, from its pooled requests and windows (several runs: ABBA halves)."""
    first = summaries[0]
    gpu_peaks = [s["gpu"]["peak_mem_used_bytes"] for s in summaries if s.get("gpu")]
    startup = first.get("startup") or {}
    windows = max(side.ok_per_window.size, 1)
    return {
        "run_dirs": [str(d) for d in run_dirs],
        "scenario": first["scenario"],
        "target": first["target"],
        "model": first["model"],
        "weights": (first.get("server_model") or {}).get("weights"),
        "requests": side.requests,
        "error_rate": side.failed / side.requests if side.requests else 0.0,
        "latency_ms": latency_ms(side.latency_s),
        "qps": float(side.ok_per_window.sum()) / windows,
        "inputs_per_s": float(side.inputs_per_window.sum()) / windows,
        "tokens_per_s": float(side.tokens_per_window.sum()) / windows,
        "oom_events": sum(len(s.get("oom_events") or []) for s in summaries),
        "peak_gpu_mem_bytes": max(gpu_peaks) if gpu_peaks else None,
        "startup_s": startup.get("ready_s"),
    }


def compare_anything(opts: CompareOptions, console: Console) -> tuple[Path, dict[str, Any]]:
    """Two saved run directories, compared as they are; or two targets, run then compared."""
    dir_a, dir_b = (Path(n) for n in opts.names)
    if (dir_a / "summary.json").is_file() and (dir_b / "summary.json").is_file():
        names = (dir_a.name, dir_b.name)
        where = opts.out or dir_b.parent / f"compare-{dir_a.name}-vs-{dir_b.name}"
        where.mkdir(parents=True, exist_ok=True)
        return where, comparison({"saved": ([dir_a], [dir_b])}, names, opts.seed)
    where, pairs, probes = run_targets(opts, console)
    return where, comparison(pairs, opts.names, opts.seed, probes)


def probe_named(
    target: str, model: str | None, config: Path | None, out: Path | None
) -> tuple[Path, dict[str, Any]]:
    """`embload probe`: a target name or URL probed alone; its probe.json's folder and result."""
    spec = load_targets(config, []).get(target)
    url = spec.url if spec else target
    api_key = os.environ.get(spec.api_key_env) if spec and spec.api_key_env else None
    try:
        result = probe(
            parse_target(url),
            model or (spec.model if spec else None),
            api_key,
            extra_headers=spec.headers if spec else None,
        )
    except ValueError as exc:
        raise RunError(f"{target!r} is neither a known target nor a URL: {exc}") from None
    except (TargetUnreachable, ProbeError, httpx.HTTPError) as exc:
        raise RunError(str(exc)) from None
    where = out or Path("reports") / f"probe-{datetime.now():%Y%m%d-%H%M%S}"
    where.mkdir(parents=True, exist_ok=True)
    write_json(where / "probe.json", result)
    return where, result


def regressions(result: dict[str, Any], threshold: float) -> list[str]:
    """B significantly worse than A by more than `threshold` (0.1 = 10%), per metric."""
    found = []
    for entry in result["scenarios"]:
        for d in entry["differences"]:
            low, high = d["low"], d["high"]
            if low is None or high is None:
                continue
            lower_better = d["metric"] in ("p50", "p90", "p99", "error_rate")
            worse = low > threshold if lower_better else high < -threshold
            if worse:
                found.append(f"{entry['scenario']} {d['metric']}: {d['verdict']}")
    return found


def write_comparison(out: Path, result: dict[str, Any]) -> Path:
    return write_json(out / "compare.json", result)


def comparison(
    pairs: dict[str, RunPairs],
    names: tuple[str, str],
    seed: int,
    probes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "a": names[0],
        "b": names[1],
        "seed": seed,
        "generated_at": datetime.now().astimezone().isoformat(),
        "scenarios": [compare_runs(da, db, names, seed) for da, db in pairs.values()],
        "probe": probes or {},
    }
