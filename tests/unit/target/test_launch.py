"""A target's own server from its `command`: started on its url's port, waited for on its health
path, timed, stopped by SIGTERM to its process group (SIGKILL after the grace); and every way
it can fail to start is one line naming its log. Real, tiny processes on loopback."""

from __future__ import annotations

import os
import shlex
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from loadtest.config.targets import TargetSpec
from loadtest.core.errors import ServeError
from loadtest.store.files import read_process_samples
from loadtest.target.launch import launched_server
from loadtest.telemetry.idle import startup
from loadtest.telemetry.monitor import MonitorConfig, start_monitor
from tests.support.commands import ROOT
from tests.support.http import free_port

PYTHON = shlex.quote(sys.executable)
# -P: tests/support/ off sys.path, where http.py would shadow the standard library's
HEALTH_SERVER = f"{PYTHON} -P {shlex.quote(str(ROOT / 'tests/support/health_server.py'))}"


def spec(
    command: str,
    port: int | None = None,
    health: str = "/health",
    ready_timeout_s: float = 20.0,
    env: dict[str, str] | None = None,
) -> TargetSpec:
    """A target `mine` at http://127.0.0.1:PORT/v1 (a free port unless given) started by
    `command`."""
    url = f"http://127.0.0.1:{port or free_port()}/v1"
    return TargetSpec(
        "mine", url, command=command, health=health, ready_timeout_s=ready_timeout_s, env=env or {}
    )


def failure(target: TargetSpec, log: Path) -> str:
    """The one line starting `target` fails with; the failure must not take long."""
    began = time.monotonic()
    with pytest.raises(ServeError) as caught, launched_server(target, log, grace_s=1):
        pytest.fail("it started")
    assert time.monotonic() - began < target.ready_timeout_s + 5
    line = caught.value.line
    assert "\n" not in line and line.endswith(f"(log: {log})"), line
    assert log.exists()
    return line


def gone(pid: int) -> bool:
    """Whether `pid` has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_a_program_that_does_not_exist(tmp_path: Path) -> None:
    line = failure(spec("embload-no-such-server --port {port}"), tmp_path / "s.log")
    assert line.startswith("its command's program embload-no-such-server was not found")
    assert "was not found" in (tmp_path / "s.log").read_text()  # the log says why it is empty


def test_a_program_that_is_not_executable(tmp_path: Path) -> None:
    script = tmp_path / "serve.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    line = failure(spec(f"{script} --port {{port}}"), tmp_path / "s.log")
    assert line.startswith(f"its command's program {script} is not executable")


def test_a_command_that_cannot_be_parsed(tmp_path: Path) -> None:
    line = failure(spec("infinity_emb v2 --model-id 'unclosed"), tmp_path / "s.log")
    assert line.startswith("its command cannot be parsed: No closing quotation")


def test_a_command_that_exits_at_once_quotes_its_last_line(tmp_path: Path) -> None:
    code = "import sys; print('loading'); print('boom: no such model', flush=True); sys.exit(3)"
    line = failure(spec(f"{PYTHON} -c {shlex.quote(code)}"), tmp_path / "s.log")
    assert line.startswith(
        f"its command ({os.path.basename(sys.executable)}) exited during start-up (code 3): "
        "boom: no such model (log: "
    )


def test_a_server_never_healthy_is_given_up_after_ready_timeout(tmp_path: Path) -> None:
    port = free_port()
    target = spec(f"{HEALTH_SERVER} --port {{port}} --status 503", port, ready_timeout_s=2.0)
    line = failure(target, tmp_path / "s.log")
    assert line.startswith(f"its command ({os.path.basename(sys.executable)}) was not healthy at ")
    assert f"http://127.0.0.1:{port}/health within 2 s (log: " in line
    assert "got SIGTERM" in (tmp_path / "s.log").read_text()  # and it was stopped after


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        marker = tmp_path / "started"
        code = f"open({str(marker)!r}, 'w')"
        line = failure(spec(f"{PYTHON} -c {shlex.quote(code)}", port), tmp_path / "s.log")
    assert line.startswith(f"port {port} is already in use; stop what runs there")
    assert not marker.exists()


def test_a_server_is_started_on_its_port_timed_and_stopped_by_sigterm(tmp_path: Path) -> None:
    port = free_port()
    command = f"{HEALTH_SERVER} --port {{port}} --path /ready"
    # the health path is the host's, not under the url's /v1
    target = spec(command, port, health="/ready", env={"EXTRA": "from-embload-toml"})
    log = tmp_path / "s.log"
    with launched_server(target, log) as server:
        assert server.target.host == f"http://127.0.0.1:{port}" and server.target.prefix == "/v1"
        assert server.command == command  # as written: `{port}` and all
        assert server.log_path == log and server.model_loaded_at is None
        assert 0 < server.ready_at - server.started_at < 20
        assert psutil.Process(server.pid).is_running()
        idle = startup(server)
        assert idle.ready_s == server.ready_at - server.started_at and idle.model_loaded_s is None
        assert idle.command == command and (idle.idle_rss_bytes or 0) > 0
        pid = server.pid
    assert gone(pid)
    said = log.read_text()
    assert f"serving on {port}, EXTRA=from-embload-toml" in said and "got SIGTERM" in said


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    command = f"{HEALTH_SERVER} --port {{port}} --child {shlex.quote(str(pidfile))}"
    with launched_server(spec(command), tmp_path / "s.log", grace_s=1.0) as server:
        child = int(pidfile.read_text())
        assert child in {p.pid for p in psutil.Process(server.pid).children(recursive=True)}
        began = time.monotonic()
    assert time.monotonic() - began >= 1.0  # it waited out the grace for the child
    assert "got SIGTERM" in (tmp_path / "s.log").read_text()
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)


def test_telemetry_reads_the_whole_process_tree(tmp_path: Path) -> None:
    """A model held in a child process counts: idle RSS and the sidecar's samples are the
    tree's, not the parent's alone."""
    pidfile = tmp_path / "child.pid"
    command = f"{HEALTH_SERVER} --port {{port}} --child {shlex.quote(str(pidfile))} --child-mb 80"
    with launched_server(spec(command), tmp_path / "s.log", grace_s=1.0) as server:
        parent_rss = psutil.Process(server.pid).memory_info().rss
        idle = startup(server)
        assert (idle.idle_rss_bytes or 0) >= parent_rss + (80 << 20)
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        config = MonitorConfig(
            run_dir=run_dir,
            interval_s=0.05,
            gpu_index="-1",
            gpu_agent=None,
            server_pid=server.pid,
            host=None,
            health_path="",
        )
        monitor = start_monitor(config)
        time.sleep(0.5)
        monitor.stop()
    samples = read_process_samples(run_dir)
    assert samples and all(s.pid == server.pid for s in samples)
    assert all(s.rss_bytes >= parent_rss + (80 << 20) for s in samples)
