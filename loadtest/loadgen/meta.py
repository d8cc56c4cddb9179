"""What ran, where and how, as the load side knows it at a run's end: summary.json's RunMeta."""

from __future__ import annotations

import os
import platform
import socket
from datetime import datetime
from importlib import metadata

from loadtest import __version__
from loadtest.config.settings import LoadSettings
from loadtest.core.dialects import SPECS
from loadtest.core.results import LoadEnvironment, RunMeta, SignalName
from loadtest.target.preflight import Preflight
from loadtest.target.url import redact

_PACKAGES = ("locust", "geventhttpclient", "numpy", "pysimdjson", "pybase64", "nvidia-ml-py")


def run_meta(
    settings: LoadSettings,
    found: Preflight,
    *,
    scenario: str,
    users: int | None,
    inputs_per_request: int,
    started_at: float,
    warnings: list[str],
    interrupted: SignalName | None,
    write_error: str | None,
    history: str | None,
) -> RunMeta:
    target = found.target
    return RunMeta(
        scenario=scenario,
        target=redact(target.base_url),
        route=redact(target.url),
        dialect=target.dialect,
        model=found.model,
        users=users,
        inputs_per_request=inputs_per_request,
        # the dialects without base64 send and get floats, whatever was asked
        encoding_format=settings.encoding_format if SPECS[target.dialect].base64 else "float",
        dimensions=settings.dimensions,
        seed=settings.seed,
        corpus=str(settings.corpus) if settings.corpus else "builtin",
        instruction=settings.instruction,
        extra_headers=sorted(settings.headers),  # names only: values may be credentials
        started_at=datetime.fromtimestamp(started_at).astimezone().isoformat(),
        started_at_unix=started_at,
        embload_version=__version__,
        server_model=found.card,
        environment=load_environment(),
        warnings=warnings,
        interrupted=interrupted,
        write_error=write_error,
        history=history,
    )


def load_environment() -> LoadEnvironment:
    """Where the load came from: for the report, and for anyone repeating the run."""
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return LoadEnvironment(
        python=platform.python_version(),
        platform=platform.platform(),
        host=socket.gethostname(),
        cpus=os.cpu_count(),
        embload=__version__,
        packages=packages,
    )
