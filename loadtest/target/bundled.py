"""The bundled server as `embload run --serve` and `compare --serve` start it: on loopback, with
its ServeSettings handed over whole (EMBLOAD_SERVER_SETTINGS), waited for, timed (process start,
model loaded, /health ready), and stopped by its PID. It yields the `StartedServer` any server
embload starts does (launch.py); what it idles at in memory is telemetry's to measure
(telemetry/idle.py); the driver puts the two together as summary.json's `startup`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from loadtest.config.options import command_line
from loadtest.config.settings import ServeSettings
from loadtest.core.errors import ServeError
from loadtest.target.launch import (
    LOOPBACK,
    Guard,
    StartedServer,
    port_in_use,
    unguarded,
    wait_healthy,
)
from loadtest.target.url import Target

_SERVER_READY_TIMEOUT_S = 180.0


@contextlib.contextmanager
def bundled_server(
    settings: ServeSettings, log_path: Path, guard: Guard = unguarded
) -> Iterator[StartedServer]:
    """`embload serve` with `settings` on loopback, waited for, stopped (by its PID) after."""
    settings = settings.model_copy(update={"host": LOOPBACK})
    if port_in_use(settings.port):
        raise ServeError(
            f"port {settings.port} is already in use; stop what runs there or pick another port"
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, ServeSettings.TRANSFER or "": settings.transfer_json()}
    started = time.time()
    with log_path.open("ab") as log:  # a server started twice keeps both starts
        proc = subprocess.Popen(
            [sys.executable, "-m", "loadtest.cli", "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        with guard(proc):
            target = Target(host=f"http://{LOOPBACK}:{settings.port}", prefix="/v1")
            doc = wait_healthy(
                proc,
                (target.host, "/health"),
                _SERVER_READY_TIMEOUT_S,
                "the bundled server",
                log_path,
            )
            ready_at = time.time()
            loaded = doc.get("model_loaded_at")
            loaded_at = loaded if isinstance(loaded, float) else None
            command = " ".join(["embload serve", *command_line(settings)])
            yield StartedServer(target, proc.pid, command, log_path, started, loaded_at, ready_at)
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGINT to the process alone (Locust's or the bundled server's graceful stop), then
    SIGKILL after `grace_s`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
