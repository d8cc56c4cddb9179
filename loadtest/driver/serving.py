"""The servers `--serve` starts for `embload compare`, one at a time: the bundled server from a
target's `serve` table (on its url's port), waited for, its start-up measured, stopped after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console

from loadtest.config.commands import CompareSettings
from loadtest.config.options import override, resolve
from loadtest.config.settings import ServeSettings
from loadtest.config.targets import TargetSpec
from loadtest.core.errors import ServeError, UsageError
from loadtest.core.results import Startup
from loadtest.driver.stopping import STOP
from loadtest.target.bundled import BundledServer, bundled_server
from loadtest.target.url import redact
from loadtest.telemetry.idle import startup


def _serve_settings(
    spec: TargetSpec, settings: CompareSettings, config: Path | None
) -> ServeSettings:
    """The target's `serve` table over [serve] and EMBLOAD_SERVER_*, on its url's port."""
    parts = urlsplit(spec.url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        raise UsageError(
            f"--serve needs {spec.name}'s url on 127.0.0.1 with a port; it is {redact(spec.url)}"
        )
    table = {**spec.serve, "port": parts.port}
    if settings.random_weights:
        table["random_weights"] = True
    return override(resolve(ServeSettings, config=config), table, f"target {spec.name} serve")


@dataclass(frozen=True)
class Served:
    """A target's bundled server, and what it idled at before any request (its start-up)."""

    server: BundledServer
    startup: Startup


@contextmanager
def serving(
    spec: TargetSpec, settings: CompareSettings, config: Path | None, out: Path, console: Console
) -> Iterator[Served | None]:
    if not settings.serve:
        yield None
        return
    serve = _serve_settings(spec, settings, config)
    console.print(f"starting {spec.name}: embload serve on :{serve.port}", highlight=False)
    try:
        with bundled_server(serve, out / f"server-{spec.name}.log", STOP.server) as server:
            yield Served(server, startup(server))
    except ServeError as exc:
        raise exc.prefixed(f"{spec.name}: ") from None
