"""SIGINT and SIGTERM inside a Locust process, and the headless `-t` clock embload keeps.

A signal is noted (the summary says the test was cut short, the exit code says which signal)
and stopping is left to Locust as ever. `-t` counts from the load's start, not from before the
preflight and the telemetry's idle baseline, which Locust's own clock would include.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

import gevent
from locust.env import Environment

from loadtest.core.errors import signal_exit_code
from loadtest.core.results import SignalName
from loadtest.loadgen.state import state_of

log = logging.getLogger("embload")


class RunTimeLine(logging.Filter):
    """Locust's start-up line, told the truth: there is a limit, embload's."""

    def __init__(self, run_time_s: float) -> None:
        super().__init__()
        self.line = f"Run time limit set to {run_time_s:g} seconds, counted from the load's start"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("No run time limit set"):
            record.msg, record.args = self.line, ()
        return True


def take_run_time(environment: Environment) -> None:
    """Headless `-t` becomes embload's: Locust starts its clock before test_start, where embload
    runs its preflight and the telemetry's idle baseline (long on a busy machine). Given back at
    test_start, once Locust has looked."""
    opts = environment.parsed_options
    if opts is not None and opts.headless and opts.run_time and not opts.worker:
        state_of(environment).run_time_s = opts.run_time
        logging.getLogger("locust.main").addFilter(RunTimeLine(opts.run_time))
        opts.run_time = None


def start_clock(environment: Environment, load_start: float, now: float) -> None:
    """The `-t` limit, counted from `load_start` (wall clock)."""
    run_time_s = state_of(environment).run_time_s
    opts = environment.parsed_options
    if run_time_s and opts is not None:
        opts.run_time = run_time_s  # for --html's {t}, as Locust had it
        gevent.spawn_later(load_start - now + run_time_s, _time_up, environment)


def _time_up(environment: Environment) -> None:
    quit_once(environment, "--run-time limit reached, shutting down")  # Locust's own words


def quit_once(environment: Environment, why: str) -> None:
    """Quit the runner, once: the run time and a trace's end may come together, and a second
    quit would kill the runner while the first one's test_stop still writes the summary."""
    state = state_of(environment)
    if state.quitting or environment.runner is None:
        return
    state.quitting = True
    log.info(why)
    environment.runner.quit()


def watch_signals(environment: Environment) -> None:
    """Notes SIGINT or SIGTERM, and leaves stopping to Locust as ever: its SIGTERM handler (a
    second libev watcher: both run, this one first), and for SIGINT its KeyboardInterrupt."""

    def seen(name: SignalName) -> None:
        state = state_of(environment)
        if state.signal is None:
            state.signal = name
            # now: Locust's shutdown reads it before it stops the test
            environment.process_exit_code = signal_exit_code(signal.Signals[name].value)

    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:  # nohup and friends: Ctrl-C stays ignored

        def on_int(signum: int, frame: Any) -> None:
            seen("SIGINT")
            if callable(previous):
                previous(signum, frame)
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_int)
    gevent.signal_handler(signal.SIGTERM, seen, "SIGTERM")
