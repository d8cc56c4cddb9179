"""SIGINT and SIGTERM in embload's own process: the first stops the load and keeps its records,
the second stops at once.

embload's Locust and bundled server run in sessions of their own (a terminal's Ctrl-C reaches
embload alone), so the signal is passed on here: the first one to the Locust process, which
stops its users, writes summary.json and report.html marked interrupted and exits; the second
kills Locust's process group and the server outright, keeping what is on disk. The command then
exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process a signal ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from loadtest.core.errors import Interrupted

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopper:
    """The command's signal handlers and the processes they reach."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._load: subprocess.Popen[bytes] | None = None
        self._where: Path | None = None
        self._others: list[subprocess.Popen[bytes]] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stopper]:
        """For one command: a signal from an earlier one in this process counts for nothing."""
        self.signum = None
        previous = {s: signal.signal(s, self._handle) for s in _SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextlib.contextmanager
    def load(self, proc: subprocess.Popen[bytes], where: Path) -> Iterator[None]:
        """While Locust runs: a first signal is passed on to it."""
        if self.signum is not None:  # came while it started: it stops at once, cleanly
            proc.send_signal(self.signum)
        self._load, self._where = proc, where
        try:
            yield
        finally:
            self._load = None

    @contextlib.contextmanager
    def server(self, proc: subprocess.Popen[bytes]) -> Iterator[None]:
        """While a bundled server runs: a second signal kills it."""
        self._others.append(proc)
        try:
            yield
        finally:
            self._others.remove(proc)

    def check(self, where: Path | None = None) -> None:
        """Between runs: once a signal came, nothing more starts."""
        if self.signum is not None:
            raise Interrupted(self.signum, where)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            for proc in [p for p in (self._load, *self._others) if p is not None]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: its workers too
            raise Interrupted(self.signum, self._where, at_once=True)
        self.signum = signum
        if self._load is None:
            raise Interrupted(signum)  # no load running: stop where the command is
        with contextlib.suppress(ProcessLookupError):
            self._load.send_signal(signum)


STOP = Stopper()  # signals are the process's: one handler set per process
