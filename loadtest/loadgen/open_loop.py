"""The open loop's dispatcher: one process's share of an arrival schedule, handed to idle users.

Imports gevent but not locust: users call `take()` from their wait_time, and whatever an
arrival finds (an idle user, or none: dropped) is counted here for summary.json's `load`.
"""

from __future__ import annotations

import time

import gevent
from gevent.event import AsyncResult

from loadtest.core.arrivals import ArrivalCount, Schedule


class OpenLoop:
    """One process's share of an open loop: a greenlet that, as each arrival comes due, hands it
    to an idle user, or counts it dropped when every user (in-flight slot) is busy.

    The user idle the shortest time gets it (a stack, not a queue), so a low rate keeps reusing
    a few warm connections instead of cycling through every user's and paying for new ones."""

    def __init__(self, schedule: Schedule | None, start_at: float | None = None) -> None:
        self.schedule = schedule  # None: no share of the schedule (a worker that joined late)
        self.start_at = start_at  # wall clock: where workers share one origin (else: at once)
        self._idle: list[AsyncResult[tuple[float, float]]] = []  # (due perf, due wall clock)
        self._greenlet: gevent.Greenlet[[], None] | None = None
        self._stopped = False
        self._due = self._dropped = 0
        self._started = self._last = 0.0  # perf_counter: the schedule's start, its last arrival

    def take(self) -> tuple[float, float]:
        """Wait (as an idle user) for the next arrival; the first call starts the schedule."""
        if self._greenlet is None and not self._stopped and self.schedule is not None:
            self._greenlet = gevent.spawn(self._run)
        slot: AsyncResult[tuple[float, float]] = AsyncResult()
        self._idle.append(slot)
        due: tuple[float, float] = slot.get()
        return due

    def stop(self) -> None:
        self._stopped = True
        if self._greenlet is not None:
            self._greenlet.kill()

    @property
    def count(self) -> ArrivalCount:
        return ArrivalCount(self._due, self._dropped, self._last - self._started)

    def _run(self) -> None:
        assert self.schedule is not None
        start_perf, start_wall = time.perf_counter(), time.time()
        if self.start_at is not None:  # past already: what came due meanwhile goes late
            start_perf, start_wall = start_perf + self.start_at - start_wall, self.start_at
            gevent.sleep(max(0.0, start_perf - time.perf_counter()))
        self._started = self._last = time.perf_counter()
        while True:
            offset = self.schedule.next()
            delay = start_perf + offset - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            elif not self._idle:
                gevent.sleep(0)  # behind, every user busy: let finished replies in first
            self._due += 1
            if self._idle:
                self._idle.pop().set((start_perf + offset, start_wall + offset))
            else:
                self._dropped += 1
            self._last = time.perf_counter()
