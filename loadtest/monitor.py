"""The telemetry sidecar: one process per test that samples GPUs, the server process and /health.

It runs apart from the load generator because NVML and psutil calls block, and under Locust's
gevent a thread is a greenlet that would stall the load. Locust's local or master runner starts
it at test start (never a worker) and stops it at test stop, by closing its stdin: a sidecar
whose test died sees the same end of input and exits on its own.

Files in the run directory: gpu.jsonl (local NVML, or a remote `embload gpu-agent`),
process.jsonl (the server's RSS and CPU, when its PID is known), health.jsonl (changes of
`/health`), telemetry.json (what could be read, and why not).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from loadtest.core.types import GpuSample, HealthProbe, ProcessSample
from loadtest.gpu import GpuUnavailable, NvmlReader, selected_devices
from loadtest.store import (
    GPU,
    HEALTH,
    PROCESS,
    TELEMETRY,
    JsonlWriter,
    gpu_sample_from_json,
    gpu_sample_to_json,
    write_json,
)

_READY_TIMEOUT_S = 20.0
_HEALTH_EVERY_S = 0.5
_AGENT_EVERY_S = 0.5


@dataclass(frozen=True)
class MonitorConfig:
    run_dir: Path
    interval_s: float = 0.1
    gpu_index: str | None = None  # indices or UUIDs, comma-separated; else CUDA_VISIBLE_DEVICES
    gpu_agent: str | None = None  # http://host:9400 of an `embload gpu-agent`
    server_pid: int | None = None
    health_url: str | None = None


class Monitor:
    """The running sidecar, as the load generator holds it."""

    def __init__(self, proc: subprocess.Popen[bytes], status: dict[str, Any]) -> None:
        self._proc = proc
        self.status = status

    def stop(self, grace_s: float = 5.0) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()  # the sidecar's signal to write its last lines and exit
        try:
            self._proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def start_monitor(config: MonitorConfig) -> Monitor:
    """Start the sidecar and wait for its first readings, so the idle baseline precedes load."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadtest.monitor", json.dumps(asdict(config), default=str)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    # select(): cooperative under gevent's monkey-patching, plain elsewhere.
    ready, _, _ = select.select([proc.stdout], [], [], _READY_TIMEOUT_S)
    line = proc.stdout.readline() if ready else b""
    try:
        status = json.loads(line)
    except ValueError:
        status = {"gpu": None, "gpu_unavailable": "the telemetry process did not start"}
    return Monitor(proc, status)


class _AgentSource:
    """Readings from a remote `embload gpu-agent`, fetched over HTTP: no GPU library here."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._since = time.time() - 5.0  # the agent's readings just before the test: the idle
        try:
            health = httpx.get(self._url + "/health", timeout=5.0).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GpuUnavailable(f"no gpu-agent answers at {self._url} ({exc})") from None
        self.names = [str(n) for n in health.get("devices", [])]

    def read(self) -> list[GpuSample]:
        try:
            doc = httpx.get(self._url + "/samples", params={"since": self._since}, timeout=5.0)
            rows = doc.json()["samples"]
        except (httpx.HTTPError, ValueError, KeyError):
            return []  # a missed poll; the next one asks from the same point
        samples = [gpu_sample_from_json(row) for row in rows]
        if samples:
            self._since = max(s.time for s in samples)
        return samples


def _open_gpu(config: MonitorConfig) -> tuple[NvmlReader | _AgentSource | None, dict[str, Any]]:
    try:
        if config.gpu_agent:
            agent = _AgentSource(config.gpu_agent)
            return agent, {"gpu": "agent", "gpu_agent": config.gpu_agent, "devices": agent.names}
        devices = selected_devices(config.gpu_index, os.environ.get("CUDA_VISIBLE_DEVICES"))
        reader = NvmlReader(devices)
        return reader, {"gpu": "nvml", "devices": reader.names}
    except GpuUnavailable as exc:
        return None, {"gpu": None, "gpu_unavailable": str(exc)}


class _ProcessSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._proc: psutil.Process | None = psutil.Process(pid)
        self._proc.cpu_percent(None)  # the first call only starts psutil's CPU clock

    def read(self, now: float) -> list[ProcessSample]:
        if self._proc is None:
            return []
        try:
            with self._proc.oneshot():
                rss = self._proc.memory_info().rss
                cpu = self._proc.cpu_percent(None)
        except psutil.Error:  # the server is gone: nothing more to read
            self._proc = None
            return []
        return [ProcessSample(now, self.pid, int(rss), float(cpu))]


def _probe_health(url: str, writer: JsonlWriter, stop: threading.Event) -> None:
    """Writes a line each time /health changes between up and down; quits on a 404 (no route)."""
    last: bool | None = None
    while not stop.wait(_HEALTH_EVERY_S):
        try:
            status = httpx.get(url, timeout=1.0).status_code
        except httpx.HTTPError as exc:
            up, detail = False, f"{type(exc).__name__}: {exc}"
        else:
            if status == 404 and last is None:
                return
            up, detail = 200 <= status < 300, f"HTTP {status}"
        if up != last:
            writer.write([asdict(HealthProbe(time.time(), up, detail))])
            last = up


def _stdin_closed(timeout_s: float, stdin: IO[bytes]) -> bool:
    ready, _, _ = select.select([stdin], [], [], max(timeout_s, 0.0))
    return bool(ready) and not stdin.read1(4096)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.monitor")
    parser.add_argument("config", help="MonitorConfig as JSON")
    raw = json.loads(parser.parse_args(argv).config)
    config = MonitorConfig(**{**raw, "run_dir": Path(raw["run_dir"])})
    gpu, status = _open_gpu(config)
    if gpu is None:
        print(f"embload: GPU telemetry off: {status['gpu_unavailable']}", file=sys.stderr)
    procs: _ProcessSampler | None = None
    if config.server_pid:
        try:
            procs = _ProcessSampler(config.server_pid)
            status["server_pid"] = config.server_pid
        except psutil.Error as exc:
            status["server_process_unavailable"] = f"no process {config.server_pid} ({exc})"
    write_json(config.run_dir / TELEMETRY, status)
    gpu_out, proc_out = JsonlWriter(config.run_dir / GPU), JsonlWriter(config.run_dir / PROCESS)
    stop = threading.Event()
    if config.health_url:
        health_out = JsonlWriter(config.run_dir / HEALTH)
        threading.Thread(
            target=_probe_health, args=(config.health_url, health_out, stop), daemon=True
        ).start()
    every = _AGENT_EVERY_S if isinstance(gpu, _AgentSource) else config.interval_s
    ready = False
    stdin = sys.stdin.buffer
    while True:
        tick = time.time()
        if isinstance(gpu, NvmlReader):
            gpu_out.write(gpu_sample_to_json(s) for s in gpu.read(tick))
        elif gpu is not None:
            gpu_out.write(gpu_sample_to_json(s) for s in gpu.read())
        if procs is not None:
            proc_out.write(asdict(s) for s in procs.read(tick))
        if not ready:  # the first readings are on disk: the load may start
            print(json.dumps(status), flush=True)
            ready = True
        if _stdin_closed(tick + every - time.time(), stdin):
            break
    stop.set()
    if isinstance(gpu, NvmlReader):
        gpu.close()


if __name__ == "__main__":
    main()
