"""The telemetry sidecar: one process per test that samples GPUs, the server process and /health.

It runs apart from the load generator because NVML and psutil calls block, and under Locust's
gevent a thread is a greenlet that would stall the load. Locust's local or master runner starts
it at test start (never a worker) and stops it at test stop, by closing its stdin: a sidecar
whose test died sees the same end of input and exits on its own.

Files in the run directory: gpu.jsonl (local NVML, or a remote `embload gpu-agent`),
process.jsonl (the server's RSS and CPU, its process tree's summed, when its PID is known),
loadgen.jsonl (the Locust process's own, its workers' with it, every second),
health.jsonl (changes of `/health`), server_metrics.jsonl (the server's own Prometheus metrics,
every second, when it has them), telemetry.json (what could be read, and why not).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import psutil
from pydantic import BaseModel, ConfigDict

from loadtest.core.errors import GpuUnavailable
from loadtest.core.results import TelemetryStatus
from loadtest.core.types import HealthProbe, ProcessSample, to_json
from loadtest.store.files import (
    GPU,
    HEALTH,
    LOADGEN,
    PROCESS,
    SERVER_METRICS,
    TELEMETRY,
    JsonlWriter,
    write_json,
    write_samples,
)
from loadtest.target.client import EmbeddingsClient
from loadtest.target.url import Target
from loadtest.telemetry.agent import AgentReader
from loadtest.telemetry.nvml import NvmlReader, selected_devices

_READY_TIMEOUT_S = 20.0
_HEALTH_EVERY_S = 0.5
_AGENT_EVERY_S = 0.5
_METRICS_EVERY_S = 1.0
_LOADGEN_EVERY_S = 1.0
_METRICS_TIMEOUT_S = 2.0


class MonitorConfig(BaseModel):
    """What the sidecar samples and where it writes; crosses to it as one JSON argument."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: Path
    interval_s: float
    gpu_index: str | None  # indices or UUIDs, comma-separated; else CUDA_VISIBLE_DEVICES
    gpu_agent: str | None  # http://host:9400 of an `embload gpu-agent`
    server_pid: int | None
    host: str | None  # the target's scheme://host:port, whose health_path is polled
    health_path: str  # "" for none
    metrics_url: str | None = None  # the server's Prometheus metrics, scraped every second
    loadgen_pid: int | None = None  # the Locust process that started this one: its own RSS


def metrics_url(given: str | None, host: str) -> str | None:
    """--server-metrics: a URL as given, `off` for none, else the target's /metrics."""
    if given is None:
        return host + "/metrics"
    return None if given.strip().lower() == "off" else given


class Monitor:
    """The running sidecar, as the load generator holds it."""

    def __init__(self, proc: subprocess.Popen[bytes], status: TelemetryStatus) -> None:
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
        [sys.executable, "-m", "loadtest.telemetry.monitor", config.model_dump_json()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    # select(): cooperative under gevent's monkey-patching, plain elsewhere.
    ready, _, _ = select.select([proc.stdout], [], [], _READY_TIMEOUT_S)
    line = proc.stdout.readline() if ready else b""
    try:
        status = TelemetryStatus.model_validate_json(line)
    except ValueError:
        status = TelemetryStatus(gpu_unavailable="the telemetry process did not start")
    return Monitor(proc, status)


def _open_gpu(config: MonitorConfig) -> tuple[NvmlReader | AgentReader | None, TelemetryStatus]:
    try:
        if config.gpu_agent:
            agent = AgentReader(config.gpu_agent)
            status = TelemetryStatus(gpu="agent", gpu_agent=config.gpu_agent, devices=agent.names)
            return agent, status
        devices = selected_devices(config.gpu_index, os.environ.get("CUDA_VISIBLE_DEVICES"))
        reader = NvmlReader(devices)
        return reader, TelemetryStatus(gpu="nvml", devices=reader.names)
    except GpuUnavailable as exc:
        return None, TelemetryStatus(gpu_unavailable=exc.line)


class _ProcessSampler:
    """The server's process tree at each reading, RSS and CPU summed: infinity-emb and vLLM run
    their model in child processes, which come and go after the server starts. A process is
    kept from one reading to the next, since psutil measures its CPU since its previous call."""

    def __init__(self, pid: int, leave_out: int | None = None) -> None:
        self.pid = pid
        self._leave_out = leave_out  # a process of the tree not to count (this sidecar)
        self._root: psutil.Process | None = psutil.Process(pid)
        self._known: dict[int, psutil.Process] = {}
        self._tree()

    def _tree(self) -> tuple[list[psutil.Process], set[int]]:
        """The tree's processes now, and the pids first seen now: their CPU clock only starts,
        and a reading microseconds later would be noise."""
        assert self._root is not None
        members: list[psutil.Process] = []
        fresh: set[int] = set()
        for proc in [self._root, *self._root.children(recursive=True)]:
            if proc.pid == self._leave_out:
                continue
            known = self._known.get(proc.pid)
            if known is None or known != proc:  # != : a pid reused by another process
                known = proc
                fresh.add(proc.pid)
                with contextlib.suppress(psutil.Error):
                    proc.cpu_percent(None)
            members.append(known)
        self._known = {p.pid: p for p in members}
        return members, fresh

    def read(self, now: float) -> list[ProcessSample]:
        if self._root is None:
            return []
        try:
            members, fresh = self._tree()
            rss, cpu = 0, 0.0
            for proc in members:
                try:
                    with proc.oneshot():
                        rss += proc.memory_info().rss
                        if proc.pid not in fresh:
                            cpu += proc.cpu_percent(None)
                except psutil.Error:
                    if proc is self._root:
                        raise
                    # a child gone between listing and reading: it counts no more
        except psutil.Error:  # the server is gone: nothing more to read
            self._root = None
            return []
        return [ProcessSample(now, self.pid, int(rss), float(cpu))]


def _probe_health(
    client: EmbeddingsClient, path: str, writer: JsonlWriter, stop: threading.Event
) -> None:
    """Writes a line each time /health changes between up and down; quits on a 404 (no route)."""
    last: bool | None = None
    while not stop.wait(_HEALTH_EVERY_S):
        up, detail, _ = client.health(path)
        if detail == "HTTP 404" and last is None:
            return
        if up != last:
            writer.write([to_json(HealthProbe(time.time(), up, detail))])
            last = up


def _scrape_metrics(url: str, path: Path, stop: threading.Event) -> None:
    """Every second: each sample of the server's metrics as a line (time, name, labels, value),
    histogram buckets and NaN left out (their _sum and _count stay). Quits at once when the first
    scrape finds no metrics there: most servers have none, and that is no error."""
    from prometheus_client.parser import text_string_to_metric_families

    writer: JsonlWriter | None = None
    with httpx.Client(timeout=_METRICS_TIMEOUT_S) as http:
        while True:
            now = time.time()
            try:
                reply = http.get(url)
                reply.raise_for_status()
                families = list(text_string_to_metric_families(reply.text))
            except (httpx.HTTPError, ValueError):
                if writer is None:
                    return
                families = []
            writer = writer or JsonlWriter(path)
            writer.write(
                {"time": now, "name": s.name, "labels": s.labels, "value": s.value}
                for family in families
                for s in family.samples
                if not s.name.endswith(("_bucket", "_created")) and math.isfinite(s.value)
            )
            if stop.wait(max(0.0, now + _METRICS_EVERY_S - time.time())):
                return


def _stdin_closed(timeout_s: float, stdin: IO[bytes]) -> bool:
    ready, _, _ = select.select([stdin], [], [], max(timeout_s, 0.0))
    return bool(ready) and not stdin.read1(4096)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.telemetry.monitor")
    parser.add_argument("config", help="MonitorConfig as JSON")
    config = MonitorConfig.model_validate_json(parser.parse_args(argv).config)
    gpu, status = _open_gpu(config)
    if gpu is None:
        print(f"embload: GPU telemetry off: {status.gpu_unavailable}", file=sys.stderr)
    procs: _ProcessSampler | None = None
    if config.server_pid:
        try:
            procs = _ProcessSampler(config.server_pid)
            status = status.model_copy(update={"server_pid": config.server_pid})
        except psutil.Error as exc:
            why = f"no process {config.server_pid} ({exc})"
            status = status.model_copy(update={"server_process_unavailable": why})
    write_json(config.run_dir / TELEMETRY, status)
    gpu_out, proc_out = JsonlWriter(config.run_dir / GPU), JsonlWriter(config.run_dir / PROCESS)
    own: _ProcessSampler | None = None
    if config.loadgen_pid:  # the Locust process and its workers, this sidecar left out
        with contextlib.suppress(psutil.Error):
            own = _ProcessSampler(config.loadgen_pid, leave_out=os.getpid())
    own_out, own_next = JsonlWriter(config.run_dir / LOADGEN), 0.0
    stop = threading.Event()
    if config.host and config.health_path:
        client = EmbeddingsClient(Target(host=config.host, prefix=""))
        health_out = JsonlWriter(config.run_dir / HEALTH)
        threading.Thread(
            target=_probe_health,
            args=(client, config.health_path, health_out, stop),
            daemon=True,
        ).start()
    if config.metrics_url:
        threading.Thread(
            target=_scrape_metrics,
            args=(config.metrics_url, config.run_dir / SERVER_METRICS, stop),
            daemon=True,
        ).start()
    every = _AGENT_EVERY_S if isinstance(gpu, AgentReader) else config.interval_s
    ready = False
    stdin = sys.stdin.buffer
    while True:
        tick = time.time()
        if isinstance(gpu, NvmlReader):
            write_samples(gpu_out, gpu.read(tick))
        elif gpu is not None:
            write_samples(gpu_out, gpu.read())
        if procs is not None:
            write_samples(proc_out, procs.read(tick))
        if own is not None and tick >= own_next:  # a flat line needs no tenth-second detail
            write_samples(own_out, own.read(tick))
            own_next = tick + _LOADGEN_EVERY_S
        if not ready:  # the first readings are on disk: the load may start
            print(status.model_dump_json(), flush=True)
            ready = True
        if _stdin_closed(tick + every - time.time(), stdin):
            break
    stop.set()
    if isinstance(gpu, NvmlReader):
        gpu.close()


if __name__ == "__main__":
    main()
