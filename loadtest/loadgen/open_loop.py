"""The open loop's dispatcher: one process's share of an arrival schedule, or of a trace, handed
to idle users.

Imports gevent but not locust: users call `take()` from their wait_time, and whatever an
arrival finds (an idle user, or none: dropped) is counted here for summary.json's `load`.
Warm-up arrivals are marked here, where their order is known, and counted apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import gevent
from gevent.event import AsyncResult

from loadtest.core.arrivals import ArrivalCount, Schedule
from loadtest.core.replay import TraceSchedule
from loadtest.core.trace import TraceRequest


class Due(NamedTuple):
    """An arrival handed to a user: when it was due (perf counter and wall clock), its trace
    line (a trace replay), and whether it is warm-up."""

    perf: float
    wall: float
    request: TraceRequest | None
    warmup: bool


class OpenLoop:
    """One process's share of an open loop: a greenlet that, as each arrival comes due, hands it
    to an idle user, or counts it dropped when every user (in-flight slot) is busy.

    The user idle the shortest time gets it (a stack, not a queue), so a low rate keeps reusing
    a few warm connections instead of cycling through every user's and paying for new ones."""

    def __init__(
        self,
        schedule: Schedule | TraceSchedule | None,
        start_at: float | None = None,
        warmup: Callable[[float], bool] = lambda _: False,
    ) -> None:
        self.schedule = schedule  # None: no share of the schedule (a worker that joined late)
        self.start_at = start_at  # wall clock: where workers share one origin (else: at once)
        self.warmup = warmup  # whether an arrival due then (Unix s) is warm-up
        self.ended = False  # a trace's share all sent (or dropped)
        self._idle: list[AsyncResult[Due]] = []
        self._greenlet: gevent.Greenlet[[], None] | None = None
        self._stopped = False
        self._due = self._dropped = self._warm_due = self._warm_dropped = 0
        self._started = self._last = 0.0  # perf_counter: the schedule's start, its last arrival

    def take(self) -> Due:
        """Wait (as an idle user) for the next arrival; the first call starts the schedule."""
        if self._greenlet is None and not self._stopped and self.schedule is not None:
            self._greenlet = gevent.spawn(self._run)
        slot: AsyncResult[Due] = AsyncResult()
        self._idle.append(slot)
        due: Due = slot.get()
        return due

    @property
    def idle(self) -> int:
        """Users waiting for an arrival: the others have one in flight."""
        return len(self._idle)

    def stop(self) -> None:
        self._stopped = True
        if self._greenlet is not None:
            self._greenlet.kill()

    @property
    def count(self) -> ArrivalCount:
        """The measured arrivals: warm-up's are left out, as its requests are."""
        return ArrivalCount(
            self._due - self._warm_due, self._dropped - self._warm_dropped, self._active_s()
        )

    def _active_s(self) -> float:
        return self._last - self._started

    def _run(self) -> None:
        assert self.schedule is not None
        start_perf, start_wall = time.perf_counter(), time.time()
        if self.start_at is not None:  # past already: what came due meanwhile goes late
            start_perf, start_wall = start_perf + self.start_at - start_wall, self.start_at
            gevent.sleep(max(0.0, start_perf - time.perf_counter()))
        self._started = self._last = time.perf_counter()
        while True:
            request = None
            if isinstance(self.schedule, TraceSchedule):
                found = self.schedule.next()
                if found is None:
                    self.ended = True
                    return
                offset, request = found
            else:
                offset = self.schedule.next()
            delay = start_perf + offset - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            elif not self._idle:
                gevent.sleep(0)  # behind, every user busy: let finished replies in first
            warm = self.warmup(start_wall + offset)
            self._due += 1
            self._warm_due += warm
            if self._idle:
                self._idle.pop().set(Due(start_perf + offset, start_wall + offset, request, warm))
            else:
                self._dropped += 1
                self._warm_dropped += warm
            if warm:
                self._started = time.perf_counter()  # the measured part's rate starts after
            self._last = time.perf_counter()
