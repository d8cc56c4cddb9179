"""Checkpoints of a long run (`--checkpoint-every`, on by default in `embload soak`): every so
often the local or master runner hands the run's end-so-far to driver/checkpoint.py in a process
of its own, which writes summary.json and report.html from the files so far.

One checkpoint at a time: one still running when the next is due is left to finish, and the
run's end stops any that is still running before it writes the final files.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable

import gevent
from pydantic import TypeAdapter

from loadtest.analysis.summary import RunEnd

PARTIAL = "a checkpoint: written while the run went on; the run's end writes this again"
_RUN_END = TypeAdapter(RunEnd)
_FINISH_S = 60.0


class Checkpoints:
    """The greenlet that starts a checkpoint every `every_s`, and the one running now."""

    def __init__(self, every_s: float, run_dir: str, run_end: Callable[[], RunEnd]) -> None:
        self.every_s, self.run_dir, self.run_end = every_s, run_dir, run_end
        self.proc: subprocess.Popen[bytes] | None = None
        self.written = 0
        self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while True:
            gevent.sleep(self.every_s)
            if self.proc is not None and self.proc.poll() is None:
                continue  # the last one is still at work
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "loadtest.driver.checkpoint", self.run_dir],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            assert self.proc.stdin is not None
            with contextlib.suppress(OSError):
                self.proc.stdin.write(_RUN_END.dump_json(self.run_end()))
                self.proc.stdin.close()
            self.written += 1

    def stop(self) -> None:
        """No more checkpoints; one still at work is let finish (its files are whole), ended
        past a minute: the run's end writes them again."""
        self._greenlet.kill()
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(_FINISH_S)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
