"""The bundled server as `embload run --serve` and `compare --serve` start it: on loopback, with
its ServeSettings handed over whole (EMBLOAD_SERVER_SETTINGS), waited for, timed (process start,
model loaded, /health ready), and stopped by its PID. What it idles at in memory is telemetry's
to measure (telemetry/idle.py); the driver puts the two together as summary.json's `startup`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from loadtest.config.options import command_line
from loadtest.config.settings import ServeSettings
from loadtest.core.errors import ServeError
from loadtest.target.client import EmbeddingsClient
from loadtest.target.url import Target

# What the caller keeps the process under while it runs (the CLI's signal handling kills it
# on a second Ctrl-C): a context manager taking the process.
Guard = Callable[[subprocess.Popen[bytes]], AbstractContextManager[object]]

_SERVER_READY_TIMEOUT_S = 180.0
_LOOPBACK = "127.0.0.1"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass(frozen=True)
class BundledServer:
    target: Target
    pid: int
    command: str  # `embload serve` and the options that differ from the defaults
    started_at: float  # wall clock: the process started
    model_loaded_at: float | None  # as the server's /health says, when it says
    ready_at: float  # /health answered 200


def _unguarded(proc: subprocess.Popen[bytes]) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


@contextlib.contextmanager
def bundled_server(
    settings: ServeSettings, log_path: Path, guard: Guard = _unguarded
) -> Iterator[BundledServer]:
    """`embload serve` with `settings` on loopback, waited for, stopped (by its PID) after."""
    settings = settings.model_copy(update={"host": _LOOPBACK})
    if _port_open(_LOOPBACK, settings.port):
        raise ServeError(
            f"port {settings.port} is already in use; stop what runs there or pick another port"
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, ServeSettings.TRANSFER or "": settings.transfer_json()}
    started = time.time()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loadtest.cli", "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        with guard(proc):
            target = Target(host=f"http://{_LOOPBACK}:{settings.port}", prefix="/v1")
            loaded_at, ready_at = _wait_healthy(proc, target, log_path)
            command = " ".join(["embload serve", *command_line(settings)])
            yield BundledServer(target, proc.pid, command, started, loaded_at, ready_at)
    finally:
        stop_process(proc)


def _wait_healthy(
    proc: subprocess.Popen[bytes], target: Target, log_path: Path
) -> tuple[float | None, float]:
    """(model loaded, /health 200) as wall-clock times, once the server says it is ready."""
    deadline = time.monotonic() + _SERVER_READY_TIMEOUT_S
    with EmbeddingsClient(target) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                raise ServeError(
                    f"the bundled server exited during start-up: "
                    f"{tail[0] if tail else '(no output)'} (log: {log_path})"
                )
            health = client.health()
            if health.up:
                loaded_at = health.doc.get("model_loaded_at")
                return loaded_at if isinstance(loaded_at, float) else None, time.time()
            time.sleep(0.1)
    raise ServeError(
        f"the bundled server was not healthy within {_SERVER_READY_TIMEOUT_S:.0f} s "
        f"(log: {log_path})"
    )


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
