"""`embload run`: start the bundled server if asked, run Locust headless per scenario, collect.

Locust runs as its own process on the shipped scenario file, exactly as `locust -f` would, so the
CLI and plain Locust share one load path. The test's settings reach it as one value
(EMBLOAD_SETTINGS); Locust's own options (-u, -t, --host) stay Locust's. Live progress comes
from the records Locust streams to disk, which is also what the summary is computed from.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import orjson
from rich.console import Console
from rich.live import Live
from rich.text import Text

import loadtest
from loadtest import routes
from loadtest.bundled import BundledServer, ServeError, bundled_server, stop_process
from loadtest.client import EmbeddingsClient, Target, TargetUnreachable, parse_target, redact
from loadtest.core.dialects import Dialect
from loadtest.core.payloads import SCENARIOS
from loadtest.core.results import RunSummary
from loadtest.core.stats import latency_ms
from loadtest.core.thresholds import ThresholdError, parse_thresholds
from loadtest.data import builtin_corpus, read_corpus
from loadtest.settings import LoadSettings, RunSettings, ServeSettings
from loadtest.stopping import STOP, Interrupted
from loadtest.store import (
    RECORDS,
    STARTUP,
    NotARun,
    NotWritable,
    new_run_dir,
    read_summary,
    writable_dir,
    write_json,
)

_STOP_GRACE_S = 60.0  # past the duration, before a Locust that does not stop is an error


class RunError(Exception):
    """A one-line reason the run could not happen, for the user; exit code 2."""


@dataclass(frozen=True)
class RunResult:
    scenario: str
    run_dir: Path
    summary: RunSummary


def scenario_names(spec: str) -> list[str]:
    """`all`, one name, or a comma-separated list of shipped scenarios."""
    names = list(SCENARIOS) if spec == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise RunError(
            f"unknown scenario {', '.join(map(repr, unknown)) or repr(spec)}; "
            f"pick from {', '.join(SCENARIOS)} or all"
        )
    return names


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


class Progress:
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

    def render(self, now: float | None = None) -> Text:
        elapsed = min((now or time.monotonic()) - self.started, self.duration_s)
        done = int(20 * elapsed / self.duration_s)
        lat = latency_ms([r[1] for r in self._recent])
        figures = "waiting for the first replies"
        if lat.p50 is not None and lat.p99 is not None:
            figures = f"P50 {lat.p50:.1f} ms  P99 {lat.p99:.1f} ms (last 5 s)"
        return Text.assemble(
            (f"{self.scenario:<7}", "bold"),
            " ",
            ("━" * done, "green"),
            ("━" * (20 - done), "grey37"),
            f" {elapsed:4.0f}/{self.duration_s:.0f} s  {self.requests:,} req  ",
            (f"{self.errors:,} errors", "red" if self.errors else "green"),
            f"  {figures}",
        )


def locust_command(
    name: str,
    users: int,
    duration_s: float,
    target: Target,
    processes: int | None = None,
    csv_prefix: Path | None = None,
) -> list[str]:
    """Locust's own options only; the test's settings travel in EMBLOAD_SETTINGS. With
    `csv_prefix`, Locust's own CSV stats too, for anyone who wants its count beside ours."""
    return [
        *[sys.executable, "-m", "locust", "-f", str(scenario_file(name)), "--headless"],
        *["-u", str(users), "-r", str(users)],
        *["-t", f"{max(1, round(duration_s))}s"],  # Locust takes whole seconds
        *["--stop-timeout", "5", "--host", target.url, "--only-summary"],
        *["--loglevel", "WARNING"],
        *([] if processes is None else ["--processes", str(processes)]),
        *([] if csv_prefix is None else ["--csv", str(csv_prefix)]),
    ]


def run_scenario(
    load: LoadSettings,
    name: str,
    users: int | None,
    duration_s: float,
    target: Target,
    console: Console,
    server: BundledServer | None = None,
    processes: int | None = None,
) -> RunResult:
    """One scenario in a Locust process; `load.out` is its run directory, made already."""
    run_dir = load.out
    assert run_dir is not None
    if server is not None:
        write_json(run_dir / STARTUP, server.startup)  # summary.json and the report take it
        load = load.model_copy(update={"server_pid": server.pid})
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    env |= {"PYTHONUNBUFFERED": "1", LoadSettings.TRANSFER or "": load.transfer_json()}
    progress = Progress(name, run_dir, duration_s)
    users = users or SCENARIOS[name].users
    cmd = locust_command(name, users, duration_s, target, processes, run_dir / "locust")
    with (
        (run_dir / "locust.log").open("wb") as log,
        Live(progress.render(), console=console, refresh_per_second=4, transient=True) as live,
    ):
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + duration_s + _STOP_GRACE_S
        try:
            with STOP.load(proc, run_dir):
                while proc.poll() is None:
                    if time.monotonic() > deadline:
                        raise RunError(
                            f"locust did not stop within {_STOP_GRACE_S:.0f} s of the end "
                            f"(log: {run_dir}/locust.log)"
                        )
                    progress.poll()
                    live.update(progress.render())
                    time.sleep(0.25)
        finally:
            stop_process(proc)
            progress.close()
    try:
        return RunResult(name, run_dir, read_summary(run_dir))
    except NotARun:
        if STOP.signum is not None:  # stopped before its test began: nothing to summarise
            raise Interrupted(STOP.signum, run_dir) from None
        tail = (run_dir / "locust.log").read_text(errors="replace").strip().splitlines()[-1:]
        raise RunError(
            f"locust ended without a summary: {tail[0] if tail else '(no output)'} "
            f"(log: {run_dir}/locust.log)"
        ) from None


def _run_dirs(settings: RunSettings, names: list[str]) -> dict[str, Path]:
    now = datetime.now()
    if settings.out is None:
        return {name: new_run_dir(settings.reports, name, now) for name in names}
    dirs = {names[0]: settings.out} if len(names) == 1 else {n: settings.out / n for n in names}
    for path in dirs.values():
        if (path / RECORDS).exists():
            raise RunError(f"{path} already holds a run; pick another --out")
        path.mkdir(parents=True, exist_ok=True)
    return dirs


def preflight(target: Target, settings: LoadSettings) -> tuple[Target, str | None]:
    """The route (asked for when the target is a bare host) and the model to send (as given,
    else the first the target lists), checked with one real request. One line if not."""
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    corpus = read_corpus(settings.corpus) if settings.corpus else builtin_corpus()
    try:
        with EmbeddingsClient(target, api_key=api_key, headers=settings.headers) as client:
            return routes.preflight(
                client,
                corpus[0].text,
                settings.model,
                settings.encoding_format,
                settings.dimensions,
            )
    except TargetUnreachable:
        raise RunError(
            f"nothing is listening at {target.host}; start a server (`embload serve`) or let "
            "embload start one with `embload run --serve`"
        ) from None
    except routes.PreflightFailed as exc:
        raise RunError(str(exc)) from None


def _target(url: str | None, dialect: Dialect | None = None) -> Target:
    if not url:
        raise RunError("no target: pass --target URL (e.g. http://127.0.0.1:30000/v1) or --serve")
    try:
        return parse_target(url, dialect)
    except ValueError as exc:
        raise RunError(str(exc)) from None


@dataclass(frozen=True)
class Prepared:
    """What every run of a command shares: the target, a Locust process's settings, and the
    bundled server when the command started one."""

    target: Target
    load: LoadSettings
    server: BundledServer | None


@contextlib.contextmanager
def prepared(
    settings: LoadSettings, url: str | None, serve: ServeSettings | None, console: Console
) -> Iterator[Prepared]:
    """Checks what can fail before any load (thresholds, corpus), starts the bundled server
    with `serve`, finds the model to send; the server stops when the block ends."""
    if settings.fail_on:
        try:  # before any load: a threshold that cannot be read is one line, exit 2
            parse_thresholds(settings.fail_on)
        except ThresholdError as exc:
            raise RunError(f"--fail-on: {exc}") from None
    try:  # before any server starts or load runs: where the files go can be written
        writable_dir(settings.out or settings.reports, keep=False)
    except NotWritable as exc:
        raise RunError(str(exc)) from None
    if settings.corpus is not None:
        try:  # before any server starts: a corpus that cannot be read is one line, exit 2
            read_corpus(settings.corpus)
        except ValueError as exc:
            raise RunError(str(exc)) from None
    with contextlib.ExitStack() as stack:
        server = None
        if serve is not None:
            log_path = (settings.out or settings.reports) / "server.log"
            console.print(
                f"starting the bundled server on 127.0.0.1:{serve.port} (log: {log_path})"
            )
            try:
                server = stack.enter_context(bundled_server(serve, log_path))
            except ServeError as exc:
                raise RunError(str(exc)) from None
            target = server.target
        else:
            target = _target(url, settings.dialect)
        # the options a Locust process takes, out of the command's
        load = LoadSettings.model_validate(
            {f: getattr(settings, f) for f in LoadSettings.model_fields if f != "batch"}
        )
        asked = target
        target, model = preflight(asked, load)
        if asked.probe:
            console.print(f"embeddings route: {redact(target.url)} ({target.dialect})")
        load = load.model_copy(update={"model": model, "dialect": target.dialect})
        yield Prepared(target, load, server)


def run(settings: RunSettings, serve: ServeSettings | None, console: Console) -> list[RunResult]:
    """Every scenario of `settings`, in order, against one target (started here with `serve`)."""
    names = scenario_names(settings.scenario)
    for name in names:
        scenario_file(name)
    with prepared(settings, settings.target, serve, console) as ready:
        dirs = _run_dirs(settings, names)
        # an open loop's Locust users are its in-flight slots
        users = settings.max_in_flight if settings.rate_rps is not None else settings.users
        load = ready.load.model_copy(update={"batch": settings.batch})
        results: list[RunResult] = []
        for name in names:
            if STOP.signum is not None:  # the last run was interrupted: no more start
                break
            scenario_load = load.model_copy(update={"out": dirs[name]})
            results.append(
                run_scenario(
                    scenario_load,
                    name,
                    users,
                    settings.duration_s,
                    ready.target,
                    console,
                    ready.server,
                    settings.processes,
                )
            )
        return results
