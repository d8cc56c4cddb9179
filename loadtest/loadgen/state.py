"""embload's state in a Locust process: one typed object on Locust's Environment.

A process runs tests one after another (a headless run one, the web UI any number); what lives
for one test is a `Test`, what lives across them is `Embload`. Locust gives a plugin no typed
place of its own, so `state_of` is the one attribute embload sets on the Environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from locust.env import Environment

from loadtest.core.results import SignalName
from loadtest.loadgen.checkpoint import Checkpoints
from loadtest.loadgen.gathering import Gathering
from loadtest.loadgen.messages import Share
from loadtest.loadgen.open_loop import OpenLoop
from loadtest.loadgen.recorder import Recorder
from loadtest.loadgen.web_tab import LiveTab
from loadtest.store.traces import TraceInfo

_ATTRIBUTE = "embload"


@dataclass
class Test:
    """One test (test_start to test_stop) in this process."""

    recorder: Recorder
    open_loop: OpenLoop | None = None  # this process's share of an open loop
    ramp: Any = None  # a master's: the greenlet spawning users (gevent.Greenlet), while it runs
    checkpoints: Checkpoints | None = None  # --checkpoint-every: summary and report so far


@dataclass
class Embload:
    """This process's part of embload, across the tests it runs."""

    test: Test | None = None  # the test running now
    run_time_s: float | None = None  # headless -t: embload's clock, started with the load
    signal: SignalName | None = None  # once one came: the summary says the test was cut short
    gathering: Gathering | None = None  # a master's: workers' rows, until the last arrived
    share: Share | None = None  # a worker's: its share of the next test's open loop
    sent: int = 0  # a worker's: rows its last test sent the master
    tab: LiveTab | None = None  # the web UI's: the tab of the last test started
    trace: TraceInfo | None = None  # the --trace checked at start-up, line by line
    quitting: bool = False  # the runner was told to quit (the run time, a trace's end)


def listen(hook: Any, listener: Callable[..., None]) -> None:
    """Locust's add_listener is untyped; calling it here keeps the listeners themselves typed."""
    hook.add_listener(listener)


def state_of(environment: Environment) -> Embload:
    """embload's state on `environment`, made on first use."""
    state: Embload | None = getattr(environment, _ATTRIBUTE, None)
    if state is None:
        state = Embload()
        setattr(environment, _ATTRIBUTE, state)
    return state
