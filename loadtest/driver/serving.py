"""The servers `--serve` starts for `embload compare`, one at a time, each on its url's port:
the bundled server from a target's `serve` table, or any server from its `command` (its
`{port}` filled in, waited for on its `health` path); its start-up measured, stopped after. A
target that says neither is not started: it is used as it runs. A command wins over a `serve`
table: a built-in's table (qwen, bge) gives way to the command embload.toml gives it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from loadtest.config.commands import CompareSettings
from loadtest.config.options import override, resolve
from loadtest.config.settings import ServeSettings
from loadtest.config.targets import TargetSpec
from loadtest.core.results import Startup
from loadtest.driver.stopping import STOP
from loadtest.target.bundled import bundled_server
from loadtest.target.launch import StartedServer, launched_server, loopback_port
from loadtest.telemetry.idle import startup


def _serve_settings(
    spec: TargetSpec, settings: CompareSettings, config: Path | None
) -> ServeSettings:
    """The target's `serve` table over [serve] and EMBLOAD_SERVER_*, on its url's port."""
    table = {**spec.serve, "port": loopback_port(spec)}
    if settings.random_weights:
        table["random_weights"] = True
    return override(resolve(ServeSettings, config=config), table, f"target {spec.name} serve")


@dataclass(frozen=True)
class Served:
    """A target's server as `--serve` started it, and what it idled at before any request (its
    start-up)."""

    server: StartedServer
    startup: Startup

    @property
    def log_path(self) -> Path:
        return self.server.log_path


def _started(
    spec: TargetSpec, settings: CompareSettings, config: Path | None, log: Path, console: Console
) -> AbstractContextManager[StartedServer]:
    if spec.command is not None:
        port = loopback_port(spec)
        console.print(f"starting {spec.name}: its command on :{port}", highlight=False)
        return launched_server(spec, log, STOP.server)
    serve = _serve_settings(spec, settings, config)
    console.print(f"starting {spec.name}: embload serve on :{serve.port}", highlight=False)
    return bundled_server(serve, log, STOP.server)


def server_log(out: Path, spec: TargetSpec) -> Path:
    """Where the log of the server `--serve` starts for `spec` goes (each start appends)."""
    return out / f"server-{spec.name}.log"


@contextmanager
def serving(
    spec: TargetSpec, settings: CompareSettings, config: Path | None, out: Path, console: Console
) -> Iterator[Served | None]:
    """With `--serve`, the target's server while the block runs (its log is
    `<out>/server-<name>.log`); None without, or when the target does not say how to start."""
    if not settings.serve or not spec.servable:
        if settings.serve:
            line = f"{spec.name} has no serve table nor command: it is used as it runs"
            console.print(line, highlight=False)
        yield None
        return
    with _started(spec, settings, config, server_log(out, spec), console) as server:
        yield Served(server, startup(server))
