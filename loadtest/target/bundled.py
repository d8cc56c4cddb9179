"""The bundled server as `embload run --serve` and `compare --serve` use it: started on loopback
with its ServeSettings handed over whole (EMBLOAD_SERVER_SETTINGS), waited for, measured
(start-up seconds and idle memory, for summary.json's `startup`), and stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from loadtest.client import EmbeddingsClient, Target
from loadtest.core.results import Startup
from loadtest.gpu import GpuUnavailable, NvmlReader, selected_devices
from loadtest.options import command_line
from loadtest.settings import ServeSettings
from loadtest.stopping import STOP

_SERVER_READY_TIMEOUT_S = 180.0
_LOOPBACK = "127.0.0.1"


class ServeError(Exception):
    """The bundled server could not start; one line for the user."""


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass(frozen=True)
class BundledServer:
    target: Target
    pid: int
    startup: Startup


@contextlib.contextmanager
def bundled_server(settings: ServeSettings, log_path: Path) -> Iterator[BundledServer]:
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
        with STOP.server(proc):
            target = Target(host=f"http://{_LOOPBACK}:{settings.port}", prefix="/v1")
            loaded_at, ready_at = _wait_healthy(proc, target, log_path)
            command = " ".join(["embload serve", *command_line(settings)])
            yield BundledServer(
                target, proc.pid, _startup(proc.pid, started, loaded_at, ready_at, command)
            )
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


def _startup(
    pid: int, started: float, loaded_at: float | None, ready_at: float, command: str
) -> Startup:
    """Process start -> model loaded -> /health ready, in seconds, and the memory it idles at."""
    idle_rss: int | None = None
    with contextlib.suppress(psutil.Error):
        idle_rss = psutil.Process(pid).memory_info().rss
    idle_gpu: int | None = None
    why: str | None = None
    try:
        reader = NvmlReader(selected_devices(None, os.environ.get("CUDA_VISIBLE_DEVICES")))
    except GpuUnavailable as exc:
        why = str(exc)
    else:
        samples = reader.read(time.time())
        reader.close()
        idle_gpu = sum(s.process_mem_bytes.get(pid, 0) for s in samples)
    return Startup(
        command=command,
        model_loaded_s=loaded_at - started if isinstance(loaded_at, float) else None,
        ready_s=ready_at - started,
        idle_rss_bytes=idle_rss,
        idle_gpu_mem_bytes=idle_gpu,
        gpu_unavailable=why,
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
