"""`embload run`: start the bundled server if asked, run Locust headless per scenario, collect.

Locust runs as its own process on the shipped scenario file, exactly as `locust -f` would, so the
CLI and plain Locust share one load path. Live progress comes from the records Locust streams to
disk, which is also what the summary is computed from.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import orjson
from rich.console import Console
from rich.live import Live
from rich.text import Text

import loadtest
from loadtest.bundled import BundledServer, ServeError, bundled_server, stop_process
from loadtest.client import Target, TargetUnreachable, list_models, parse_target
from loadtest.core.payloads import SCENARIOS
from loadtest.core.stats import latency_ms
from loadtest.core.telemetry import DEFAULT_OOM_THRESHOLD
from loadtest.store import RECORDS, STARTUP, new_run_dir, read_summary, write_json

DEFAULT_SERVE_PORT = 30000


class RunError(Exception):
    """A one-line reason the run could not happen, for the user; exit code 2."""


@dataclass(frozen=True)
class RunOptions:
    target: str | None
    scenarios: list[str]
    duration_s: float
    model: str | None = None
    users: int | None = None
    out: Path | None = None
    serve: bool = False
    serve_port: int = DEFAULT_SERVE_PORT
    corpus: Path | None = None
    seed: int = 0
    encoding: str = "base64"
    timeout_s: float = 60.0
    api_key: str | None = None
    reports: Path = Path("reports")
    gpu_interval_s: float = 0.1
    gpu_index: str | None = None
    gpu_agent: str | None = None
    server_pid: int | None = None
    oom_threshold: float = DEFAULT_OOM_THRESHOLD
    keep_vectors: int = 0  # replies whose vectors the quality probe checks afterwards
    instruction: str | None = None  # queries sent as "Instruct: ...\nQuery:..."
    headers: dict[str, str] | None = None  # extra HTTP headers; through the environment


@dataclass(frozen=True)
class RunResult:
    scenario: str
    run_dir: Path
    summary: dict[str, Any]


def parse_duration(text: str) -> float:
    """`30s`, `2m`, `1h30m` or plain seconds, as Locust's -t takes them."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
        if not parts or not any(parts.groups()):
            raise RunError(f"duration {text!r} is not like 30s, 2m or 1h30m")
        h, m, s = (int(g) if g else 0 for g in parts.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds <= 0:
        raise RunError("duration must be above zero")
    return seconds


def scenario_file(name: str) -> Path:
    """The shipped locustfile: inside the package when installed, at the repo root when editable."""
    package = Path(loadtest.__file__).parent
    for candidate in (
        package / "_scenarios" / f"{name}.py",
        package.parent / "scenarios" / f"{name}.py",
    ):
        if candidate.is_file():
            return candidate
    raise RunError(f"scenario file {name}.py is missing from this install; reinstall embload")


class _Progress:
    """Reads the records Locust appends and renders one live status line."""

    def __init__(self, scenario: str, run_dir: Path, duration_s: float) -> None:
        self.scenario, self.path, self.duration_s = scenario, run_dir / RECORDS, duration_s
        self.started = time.monotonic()
        self.requests = self.errors = 0
        self._file: IO[bytes] | None = None
        self._partial = b""
        self._recent: list[tuple[float, float]] = []  # (start_time, latency_s) of recent successes

    def poll(self) -> None:
        if self._file is None:
            if not self.path.exists():
                return
            self._file = self.path.open("rb")
        chunk = self._partial + self._file.read()
        *lines, self._partial = chunk.split(b"\n")
        for line in lines:
            row = orjson.loads(line)
            self.requests += 1
            if row["error"]:
                self.errors += 1
            else:
                self._recent.append((row["start_time"], row["latency_s"]))
        if self._recent:
            horizon = self._recent[-1][0] - 5.0
            self._recent = [r for r in self._recent if r[0] >= horizon]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def render(self) -> Text:
        elapsed = min(time.monotonic() - self.started, self.duration_s)
        done = int(20 * elapsed / self.duration_s)
        lat = latency_ms([r[1] for r in self._recent])
        figures = "waiting for the first replies"
        if lat["p50"] is not None and lat["p99"] is not None:
            figures = f"P50 {lat['p50']:.1f} ms  P99 {lat['p99']:.1f} ms (last 5 s)"
        return Text.assemble(
            (f"{self.scenario:<7}", "bold"),
            " ",
            ("━" * done, "green"),
            ("━" * (20 - done), "grey37"),
            f" {elapsed:4.0f}/{self.duration_s:.0f} s  {self.requests:,} req  ",
            (f"{self.errors:,} errors", "red" if self.errors else "green"),
            f"  {figures}",
        )


def _locust_command(
    opts: RunOptions,
    name: str,
    target: Target,
    model: str | None,
    run_dir: Path,
    server_pid: int | None,
) -> list[str]:
    users = opts.users or SCENARIOS[name].users
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(scenario_file(name)),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{max(1, round(opts.duration_s))}s",  # locust takes whole seconds
        "--stop-timeout",
        "5",
        "--host",
        target.base_url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--embload-out",
        str(run_dir),
        "--embload-seed",
        str(opts.seed),
        "--embload-encoding",
        opts.encoding,
        "--embload-timeout",
        f"{opts.timeout_s:g}",
    ]
    cmd += ["--embload-gpu-interval", f"{opts.gpu_interval_s:g}"]
    cmd += ["--embload-oom-threshold", f"{opts.oom_threshold:g}"]
    if model:
        cmd += ["--embload-model", model]
    if opts.corpus:
        cmd += ["--embload-corpus", str(opts.corpus)]
    if opts.gpu_index:
        cmd += ["--embload-gpu-index", opts.gpu_index]
    if opts.gpu_agent:
        cmd += ["--embload-gpu-agent", opts.gpu_agent]
    if opts.keep_vectors:
        cmd += ["--embload-keep-vectors", str(opts.keep_vectors)]
    if opts.instruction:
        cmd += ["--embload-instruction", opts.instruction]
    if server_pid:
        cmd += ["--embload-server-pid", str(server_pid)]
    return cmd


def run_scenario(
    opts: RunOptions,
    name: str,
    target: Target,
    model: str | None,
    run_dir: Path,
    console: Console,
    server: BundledServer | None = None,
) -> RunResult:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("EMBLOAD_API_KEY", None)
    if opts.api_key:
        env["EMBLOAD_API_KEY"] = opts.api_key  # through the environment: argv is visible in ps
    env.pop("EMBLOAD_HEADERS", None)
    if opts.headers:
        env["EMBLOAD_HEADERS"] = json.dumps(opts.headers)  # may hold credentials, as the key
    if server is not None:
        write_json(run_dir / STARTUP, server.startup)  # summary.json and the report take it
    progress = _Progress(name, run_dir, opts.duration_s)
    with (
        (run_dir / "locust.log").open("wb") as log,
        Live(progress.render(), console=console, refresh_per_second=4, transient=True) as live,
    ):
        proc = subprocess.Popen(
            _locust_command(
                opts, name, target, model, run_dir, server.pid if server else opts.server_pid
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + opts.duration_s + 60.0
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise RunError(
                        f"locust did not stop within 60 s of the end (log: {run_dir}/locust.log)"
                    )
                progress.poll()
                live.update(progress.render())
                time.sleep(0.25)
        finally:
            stop_process(proc)
            progress.close()
    try:
        summary = read_summary(run_dir)
    except FileNotFoundError:
        tail = (run_dir / "locust.log").read_text(errors="replace").strip().splitlines()[-1:]
        raise RunError(
            f"locust ended without a summary: {tail[0] if tail else '(no output)'} "
            f"(log: {run_dir}/locust.log)"
        ) from None
    return RunResult(name, run_dir, summary)


def _run_dirs(opts: RunOptions) -> dict[str, Path]:
    now = datetime.now()
    if opts.out is None:
        return {name: new_run_dir(opts.reports, name, now) for name in opts.scenarios}
    if len(opts.scenarios) == 1:
        dirs = {opts.scenarios[0]: opts.out}
    else:
        dirs = {name: opts.out / name for name in opts.scenarios}
    for path in dirs.values():
        if (path / RECORDS).exists():
            raise RunError(f"{path} already holds a run; pick another --out")
        path.mkdir(parents=True, exist_ok=True)
    return dirs


def _resolve_model(opts: RunOptions, target: Target) -> str | None:
    try:
        models = list_models(target, opts.api_key)
    except TargetUnreachable:
        parts = urlsplit(target.base_url)
        raise RunError(
            f"nothing is listening at {parts.scheme}://{parts.hostname}:{parts.port}; start a "
            "server (`embload serve`) or let embload start one with `embload run --serve`"
        ) from None
    return opts.model or (models[0] if models else None)


def run(opts: RunOptions, console: Console) -> list[RunResult]:
    """Every scenario of `opts`, in order, against one target (started here with --serve)."""
    for name in opts.scenarios:
        scenario_file(name)
    with contextlib.ExitStack() as stack:
        server = None
        if opts.serve:
            log_path = (opts.out or opts.reports) / "server.log"
            console.print(
                f"starting the bundled server on 127.0.0.1:{opts.serve_port} (log: {log_path})"
            )
            try:
                server = stack.enter_context(bundled_server(opts.serve_port, log_path))
            except ServeError as exc:
                raise RunError(str(exc)) from None
            target = server.target
        elif opts.target:
            try:
                target = parse_target(opts.target)
            except ValueError as exc:
                raise RunError(str(exc)) from None
        else:
            raise RunError(
                "no target: pass --target URL (e.g. http://127.0.0.1:30000/v1) or --serve"
            )
        model = _resolve_model(opts, target)
        dirs = _run_dirs(opts)
        return [
            run_scenario(opts, name, target, model, dirs[name], console, server)
            for name in opts.scenarios
        ]
