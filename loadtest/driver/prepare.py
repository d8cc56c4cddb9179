"""What every command that runs load does before any: check what can fail without load (the
thresholds, where the files go, the corpus), start the bundled server when asked, and find the
target's route and model with one real request: the run's preflight, done once here and handed
to every Locust process it starts (target/preflight.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from rich.console import Console

from loadtest.config.settings import LoadSettings, ServeSettings
from loadtest.core.dialects import Dialect
from loadtest.core.errors import TargetUnreachable, ThresholdError, UsageError
from loadtest.core.results import Startup
from loadtest.core.thresholds import parse_thresholds
from loadtest.data import corpus
from loadtest.driver.stopping import STOP
from loadtest.store.files import writable_dir
from loadtest.store.traces import TraceInfo, check_trace
from loadtest.target.bundled import bundled_server
from loadtest.target.preflight import Preflight, preflight_for
from loadtest.target.url import Target, parse_target, redact
from loadtest.telemetry.idle import startup


def target_of(url: str | None, dialect: Dialect | None = None) -> Target:
    if not url:
        raise UsageError("no target: pass --target URL (e.g. http://127.0.0.1:30000/v1) or --serve")
    return parse_target(url, dialect)


def checked(target: Target, settings: LoadSettings) -> Preflight:
    """The preflight of `embload run`, `sweep` and `compare`: nothing listening is one line
    saying how to start a server."""
    try:
        return preflight_for(target, settings)
    except TargetUnreachable:
        raise TargetUnreachable(
            f"nothing is listening at {target.host}; start a server (`embload serve`) or let "
            "embload start one with `embload run --serve`"
        ) from None


@dataclass(frozen=True)
class Prepared:
    """What every run of a command shares: the preflight, a Locust process's settings, and the
    bundled server's start-up when the command started one."""

    preflight: Preflight
    load: LoadSettings
    startup: Startup | None = None  # with --serve
    server_pid: int | None = None  # with --serve
    trace: TraceInfo | None = None  # with --trace: checked, line by line

    @property
    def target(self) -> Target:
        return self.preflight.target


def load_settings(settings: LoadSettings) -> LoadSettings:
    """The options a Locust process takes, out of a command's (a run's one batch size stays)."""
    return LoadSettings.model_validate(
        {f: getattr(settings, f) for f in LoadSettings.model_fields if f != "batch"}
    )


@contextlib.contextmanager
def prepared(
    settings: LoadSettings, url: str | None, serve: ServeSettings | None, console: Console
) -> Iterator[Prepared]:
    """Checks what can fail before any load (thresholds, output, corpus), starts the bundled
    server with `serve`, runs the preflight; the server stops when the block ends."""
    if settings.fail_on:
        try:  # before any load: a threshold that cannot be read is one line, exit 2
            parse_thresholds(settings.fail_on)
        except ThresholdError as exc:
            raise ThresholdError(f"--fail-on: {exc.line}") from None
    # before any server starts or load runs: where the files go can be written
    writable_dir(settings.out or settings.reports, keep=False)
    corpus(settings.corpus)  # before any server starts: a corpus that cannot be read is one line
    # every line, before any server starts or request goes: a bad one is one line
    trace = None if settings.trace is None else check_trace(settings.trace)
    load = load_settings(settings)
    with contextlib.ExitStack() as stack:
        if serve is None:
            asked = target_of(url, settings.dialect)
            found = checked(asked, load)
            if asked.probe:
                shown = redact(found.target.url)
                console.print(f"embeddings route: {shown} ({found.dialect})", highlight=False)
            yield Prepared(found, load, trace=trace)
            return
        log_path = (settings.out or settings.reports) / "server.log"
        console.print(f"starting the bundled server on 127.0.0.1:{serve.port} (log: {log_path})")
        server = stack.enter_context(bundled_server(serve, log_path, STOP.server))
        idle = startup(server)  # before the preflight's request: what it idles at
        yield Prepared(checked(server.target, load), load, idle, server.pid, trace)
