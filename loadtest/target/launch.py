"""Any server as `compare --serve` starts it from a target's `command`: on loopback, its `{port}`
filled from the target's url, in a session of its own (so its whole process group can be
stopped: infinity-emb and vLLM run their model in child processes), waited for until its health
path answers 2xx, timed, and stopped after by SIGTERM to the group, SIGKILL after a grace.

Also what every server embload starts shares with the bundled one (bundled.py): the
`StartedServer` both yield, the port check, the wait for health, and the guard they run under.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from loadtest.config.targets import TargetSpec
from loadtest.core.errors import ServeError, UsageError
from loadtest.target.client import EmbeddingsClient
from loadtest.target.url import Target, parse_target, redact

# What the caller keeps the process under while it runs (the CLI's signal handling kills its
# process group on a second Ctrl-C): a context manager taking the process.
Guard = Callable[[subprocess.Popen[bytes]], AbstractContextManager[object]]

LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 10.0
_POLL_S = 0.1
_TAIL_CHARS = 300  # a server's last line can be a whole JSON log record


@dataclass(frozen=True)
class StartedServer:
    """A server embload started and stops: where it answers, its process (the leader of its
    process group), what started it, its log, and its start-up as wall-clock times."""

    target: Target
    pid: int
    command: str  # as reports show it: `embload serve ...`, or the target's command as written
    log_path: Path
    started_at: float  # the process started
    model_loaded_at: float | None  # as the server's /health says, when it says
    ready_at: float  # its health path answered 2xx


def unguarded(proc: subprocess.Popen[bytes]) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((LOOPBACK, port)) == 0


def loopback_port(spec: TargetSpec) -> int:
    """The port of a target `--serve` may start: its url on 127.0.0.1 (or localhost)."""
    parts = urlsplit(spec.url)
    if parts.hostname not in (LOOPBACK, "localhost") or parts.port is None:
        raise UsageError(
            f"--serve needs {spec.name}'s url on 127.0.0.1 with a port; it is {redact(spec.url)}"
        )
    return parts.port


def log_tail(log_path: Path) -> str:
    """The log's last line, cut short: what a server said before it died."""
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    if not lines:
        return "(no output)"
    last = lines[-1].strip()
    return last if len(last) <= _TAIL_CHARS else last[: _TAIL_CHARS - 3] + "..."


def wait_healthy(
    proc: subprocess.Popen[bytes],
    health_url: tuple[str, str],
    timeout_s: float,
    what: str,
    log_path: Path,
) -> dict[str, Any]:
    """Polls `health_url` (host, path) until it answers 2xx: its JSON document, if any. A
    process that exits first, or a server not healthy within `timeout_s`, is a ServeError."""
    host, path = health_url
    deadline = time.monotonic() + timeout_s
    with EmbeddingsClient(Target(host=host, prefix="")) as client:
        while True:
            if proc.poll() is not None:
                raise ServeError(
                    f"{what} exited during start-up (code {proc.returncode}): "
                    f"{log_tail(log_path)} (log: {log_path})"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServeError(
                    f"{what} was not healthy at {host}{path} within {timeout_s:g} s "
                    f"(log: {log_path})"
                )
            health = client.health(path, timeout_s=min(1.0, max(left, 0.1)))
            if health.up:
                return health.doc
            time.sleep(_POLL_S)


def _alive(proc: subprocess.Popen[bytes], members: list[psutil.Process]) -> bool:
    if proc.poll() is None:  # also reaps the leader, which would otherwise stay a zombie
        return True
    for member in members:
        with contextlib.suppress(psutil.Error):
            if member.is_running() and member.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM to the process's group, then SIGKILL to whatever of it is left after `grace_s`."""
    members: list[psutil.Process] = []
    # taken before the signal: once the leader exits, its children are no longer its children
    with contextlib.suppress(psutil.Error):
        members = psutil.Process(proc.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _alive(proc, members) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(proc, members):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for member in members:  # one that left the group (its own session) is still the tree's
            with contextlib.suppress(psutil.Error):
                member.kill()
    proc.wait()


def _argv(spec: TargetSpec, port: int, log_path: Path) -> list[str]:
    command = (spec.command or "").replace("{port}", str(port))
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise _failed(log_path, f"its command cannot be parsed: {exc}") from None
    if not argv:
        raise _failed(log_path, "its command is empty")
    return argv


def _failed(log_path: Path, line: str) -> ServeError:
    """The error, written to the log too: the log the line names says why it is empty."""
    with contextlib.suppress(OSError), log_path.open("a") as log:
        log.write(f"embload: {line}\n")
    return ServeError(f"{line} (log: {log_path})")


def _spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    program = argv[0]
    try:
        with log_path.open("ab") as log:  # a server started twice keeps both starts
            return subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own group: stopped whole; a terminal's ^C skips it
            )
    except FileNotFoundError:
        raise _failed(log_path, f"its command's program {program} was not found") from None
    except PermissionError:
        raise _failed(log_path, f"its command's program {program} is not executable") from None
    except OSError as exc:
        line = f"its command's program {program} could not start: {exc.strerror}"
        raise _failed(log_path, line) from None


@contextlib.contextmanager
def launched_server(
    spec: TargetSpec, log_path: Path, guard: Guard = unguarded, grace_s: float = STOP_GRACE_S
) -> Iterator[StartedServer]:
    """The target's `command` on its url's port, waited for until its `health` path answers
    2xx (within `ready_timeout_s`), stopped after (SIGTERM to its group, SIGKILL after
    `grace_s`)."""
    port = loopback_port(spec)
    target = parse_target(spec.url, spec.dialect)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = _argv(spec, port, log_path)
    if port_in_use(port):
        line = f"port {port} is already in use; stop what runs there or pick another port"
        raise _failed(log_path, line)
    env = {**os.environ, **spec.env}
    started = time.time()
    proc = _spawn(argv, env, log_path)
    try:
        with guard(proc):
            path = spec.health if spec.health.startswith("/") else f"/{spec.health}"
            what = f"its command ({os.path.basename(argv[0])})"
            wait_healthy(proc, (target.host, path), spec.ready_timeout_s, what, log_path)
            ready = time.time()
            yield StartedServer(
                target, proc.pid, spec.command or "", log_path, started, None, ready
            )
    finally:
        stop_group(proc, grace_s)
