"""The telemetry sidecar as a real process: what it writes, and that it stops when told."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from loadtest.store.files import TELEMETRY, read_gpu_samples, read_health, read_process_samples
from loadtest.telemetry.agent import GpuAgent
from loadtest.telemetry.monitor import MonitorConfig, start_monitor
from loadtest.telemetry.nvml import NvmlReader
from tests.support.gpu import FakeNvml
from tests.support.http import free_port


def config(run_dir: Path, **changes: object) -> MonitorConfig:
    """A sidecar that samples nothing unless told: no GPU, no process, no health route."""
    base = {
        "run_dir": run_dir,
        "interval_s": 0.05,
        "gpu_index": "-1",  # hides every GPU, as on a machine without one
        "gpu_agent": None,
        "server_pid": None,
        "host": None,
        "health_path": "",
    }
    return MonitorConfig.model_validate({**base, **changes})


def test_process_and_health_without_a_gpu(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        nothing_listens = f"http://127.0.0.1:{free_port()}"
        monitor = start_monitor(
            config(tmp_path, server_pid=sleeper.pid, host=nothing_listens, health_path="/health")
        )
        time.sleep(1.2)
        monitor.stop()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert monitor.status.gpu is None
    assert "selects no device" in (monitor.status.gpu_unavailable or "")
    assert json.loads((tmp_path / TELEMETRY).read_text())["server_pid"] == sleeper.pid
    procs = read_process_samples(tmp_path)
    assert len(procs) >= 5 and all(p.pid == sleeper.pid and p.rss_bytes > 0 for p in procs)
    assert [p.time for p in procs] == sorted(p.time for p in procs)
    (probe,) = read_health(tmp_path)  # one line: the change to down; no repeats
    assert not probe.up and "ConnectError" in probe.detail
    assert read_gpu_samples(tmp_path) == []


def test_gpu_samples_from_an_agent(tmp_path: Path) -> None:
    agent = GpuAgent(NvmlReader(None, nvml=FakeNvml()), "127.0.0.1", 0, interval_s=0.05)
    agent.start()
    try:
        time.sleep(0.2)  # readings from before the test: the idle baseline
        agent_url = f"http://127.0.0.1:{agent.port}"
        monitor = start_monitor(config(tmp_path, gpu_index=None, gpu_agent=agent_url))
        time.sleep(1.2)
        monitor.stop()
    finally:
        agent.stop()
    assert monitor.status.model_dump(exclude_defaults=True) == {
        "gpu": "agent",
        "gpu_agent": f"http://127.0.0.1:{agent.port}",
        "devices": ["NVIDIA H100 80GB HBM3"] * 2,
    }
    samples = read_gpu_samples(tmp_path)
    times = [s.time for s in samples if s.index == 0]
    assert len(times) >= 10 and times == sorted(times) and len(set(times)) == len(times)
    assert min(times) < time.time() - 1.2  # the agent's readings from before the test came too


def test_a_sidecar_whose_parent_vanishes_exits(tmp_path: Path) -> None:
    monitor = start_monitor(config(tmp_path))
    proc = monitor._proc
    assert proc.stdin is not None
    proc.stdin.close()  # what the OS does when the load generator dies
    assert proc.wait(5) == 0
