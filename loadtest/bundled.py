"""The bundled server as `embload run --serve` uses it: started on loopback, waited for, measured
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
from typing import Any

import httpx
import psutil

from loadtest.client import Target
from loadtest.gpu import GpuUnavailable, NvmlReader, selected_devices

_SERVER_READY_TIMEOUT_S = 180.0


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
    startup: dict[str, Any]  # summary.json's `startup`


@contextlib.contextmanager
def bundled_server(
    port: int, log_path: Path, serve_args: tuple[str, ...] = ("--truncate",)
) -> Iterator[BundledServer]:
    """Start `embload serve` on loopback, wait for /health, stop it (by its PID) afterwards.

    `serve_args` go to `embload serve` as they are; the default, minilm with truncation, takes
    the peak scenario's paragraphs, which are longer than MiniLM's 256 tokens.
    """
    if _port_open("127.0.0.1", port):
        raise ServeError(
            f"port {port} is already in use; stop what runs there or pick --serve-port"
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "loadtest.cli", "serve", "--port", str(port), *serve_args]
    started = time.time()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        target = Target(host=f"http://127.0.0.1:{port}", prefix="/v1")
        health = _wait_healthy(proc, target, log_path)
        yield BundledServer(target, proc.pid, _startup(proc.pid, started, health, serve_args))
    finally:
        stop_process(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], target: Target, log_path: Path) -> dict[str, Any]:
    """/health's reply once it is 200, with `ready_at` (wall clock) added."""
    deadline = time.monotonic() + _SERVER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise ServeError(
                f"the bundled server exited during start-up: {tail[0]} (log: {log_path})"
            )
        with contextlib.suppress(httpx.HTTPError, ValueError):
            reply = httpx.get(target.host + "/health", timeout=1.0)
            if reply.status_code == 200:
                return {**reply.json(), "ready_at": time.time()}
        time.sleep(0.1)
    raise ServeError(
        f"the bundled server was not healthy within {_SERVER_READY_TIMEOUT_S:.0f} s "
        f"(log: {log_path})"
    )


def _startup(
    pid: int, started: float, health: dict[str, Any], command: tuple[str, ...]
) -> dict[str, Any]:
    """Process start -> model loaded -> /health ready, in seconds, and the memory it idles at."""
    loaded_at = health.get("model_loaded_at")
    figures: dict[str, Any] = {
        "command": " ".join(["embload serve", *command]),
        "model_loaded_s": loaded_at - started if isinstance(loaded_at, float) else None,
        "ready_s": health["ready_at"] - started,
        "idle_rss_bytes": None,
        "idle_gpu_mem_bytes": None,
        "gpu_unavailable": None,
    }
    with contextlib.suppress(psutil.Error):
        figures["idle_rss_bytes"] = psutil.Process(pid).memory_info().rss
    try:
        reader = NvmlReader(selected_devices(None, os.environ.get("CUDA_VISIBLE_DEVICES")))
    except GpuUnavailable as exc:
        figures["gpu_unavailable"] = str(exc)
    else:
        samples = reader.read(time.time())
        reader.close()
        figures["idle_gpu_mem_bytes"] = sum(s.process_mem_bytes.get(pid, 0) for s in samples)
    return figures


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
