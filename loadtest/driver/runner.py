"""`embload run`: start the bundled server if asked, run Locust headless per scenario, collect.

Locust runs as its own process on the shipped scenario file, exactly as `locust -f` would, so the
CLI and plain Locust share one load path. The test's settings reach it as one value
(EMBLOAD_SETTINGS) and the run's preflight as another (EMBLOAD_PREFLIGHT), both in its
environment; Locust's own options (-u, -t, --host) stay Locust's. Live progress comes from the
records Locust streams to disk, which is also what the summary is computed from.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live

import loadtest
from loadtest.config.settings import LoadSettings, RunSettings, ServeSettings
from loadtest.core.errors import EmbloadError, Interrupted, NotARun, UsageError
from loadtest.core.payloads import SCENARIOS
from loadtest.core.replay import parse_warmup
from loadtest.core.results import RunSummary
from loadtest.driver.prepare import Prepared, prepared
from loadtest.driver.progress import Progress
from loadtest.driver.stopping import STOP
from loadtest.store.files import RECORDS, STARTUP, new_run_dir, read_summary, write_json
from loadtest.store.traces import TraceInfo
from loadtest.target.bundled import stop_process
from loadtest.target.preflight import Preflight
from loadtest.target.url import Target

_TRACE_TAIL_S = 10.0  # at most this long for a trace's last replies, past its span
_STOP_GRACE_S = 60.0  # past the duration, before a Locust that does not stop is an error


class LoadFailed(EmbloadError):
    """The Locust process did not stop, or stopped without a summary."""


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
        raise UsageError(
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
    raise UsageError(f"scenario file {name}.py is missing from this install; reinstall embload")


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


def locust_environment(load: LoadSettings, found: Preflight) -> dict[str, str]:
    """The Locust process's environment: ours without EMBLOAD_* (its settings are handed over
    whole instead), the settings and the preflight as one value each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    return env | {
        "PYTHONUNBUFFERED": "1",
        LoadSettings.TRANSFER or "": load.transfer_json(),
        Preflight.TRANSFER: found.model_dump_json(),
    }


def run_scenario(
    ready: Prepared,
    load: LoadSettings,
    name: str,
    users: int | None,
    duration_s: float,
    console: Console,
    processes: int | None = None,
) -> RunResult:
    """One scenario in a Locust process; `load.out` is its run directory, made already. A
    warm-up span runs before `duration_s`, which is the measured part's."""
    run_dir = load.out
    assert run_dir is not None
    duration_s += parse_warmup(load.warmup).duration_s
    if ready.startup is not None:
        write_json(run_dir / STARTUP, ready.startup)  # summary.json and the report take it
        load = load.model_copy(update={"server_pid": ready.server_pid})
    progress = Progress(name, run_dir, duration_s)
    users = users or SCENARIOS[name].users
    cmd = locust_command(name, users, duration_s, ready.target, processes, run_dir / "locust")
    env = locust_environment(load, ready.preflight)
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
                        raise LoadFailed(
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
        raise LoadFailed(
            f"locust ended without a summary: {tail[0] if tail else '(no output)'} "
            f"(log: {run_dir}/locust.log)"
        ) from None


def run_time_s(settings: RunSettings, trace: TraceInfo | None) -> float:
    """How long a scenario runs: --duration, or a trace's span at its speed when no duration
    was given, with time for its last replies (a local replay stops as soon as they are in)."""
    if trace is None or "duration_s" in settings.model_fields_set:
        return float(settings.duration_s)
    span_s = trace.span_s / settings.trace_speed
    return span_s + min(settings.timeout_s, _TRACE_TAIL_S) + 1.0


def _run_dirs(settings: RunSettings, names: list[str]) -> dict[str, Path]:
    now = datetime.now()
    if settings.out is None:
        return {name: new_run_dir(settings.reports, name, now) for name in names}
    dirs = {names[0]: settings.out} if len(names) == 1 else {n: settings.out / n for n in names}
    for path in dirs.values():
        if (path / RECORDS).exists():
            raise UsageError(f"{path} already holds a run; pick another --out")
        path.mkdir(parents=True, exist_ok=True)
    return dirs


def run(settings: RunSettings, serve: ServeSettings | None, console: Console) -> list[RunResult]:
    """Every scenario of `settings`, in order, against one target (started here with `serve`)."""
    names = scenario_names(settings.scenario)
    for name in names:
        scenario_file(name)
    with prepared(settings, settings.target, serve, console) as ready:
        dirs = _run_dirs(settings, names)
        # an open loop's Locust users are its in-flight slots
        opened = settings.rate_rps is not None or settings.trace is not None
        users = settings.max_in_flight if opened else settings.users
        duration_s = run_time_s(settings, ready.trace)
        load = ready.load.model_copy(update={"batch": settings.batch})
        results: list[RunResult] = []
        for name in names:
            if STOP.signum is not None:  # the last run was interrupted: no more start
                break
            scenario_load = load.model_copy(update={"out": dirs[name]})
            results.append(
                run_scenario(
                    ready,
                    scenario_load,
                    name,
                    users,
                    duration_s,
                    console,
                    settings.processes,
                )
            )
        return results
