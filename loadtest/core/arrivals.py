"""Open-loop arrivals: when each request is due, drawn from the seed, and what a run made of them.

A closed loop (N users, each sending when its last reply came back) lets a slow server slow
the load down, so queueing never shows in its percentiles (coordinated omission). An open loop
sends on a schedule fixed before the run: inter-arrival gaps are exponential (poisson), equal
(constant), or gamma with shape `burstiness` and mean 1/rate, as vLLM's and AIPerf's benchmarks
draw them (1 is poisson, below 1 burstier, above 1 more even). Latency runs from the time a
request was due, not from when it went out, so a queue in the generator or the server counts.

One schedule is drawn for the whole test; a distributed test's worker `slot` of `of` takes
every `of`-th arrival, so the workers together send exactly the one schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from loadtest.core.columns import Timing
from loadtest.core.results import LoadFigures
from loadtest.core.stats import latency_ms, rate

ArrivalKind = Literal["poisson", "constant", "gamma"]
LATE_S = 0.010  # a send this far behind its due time counts as late
_CHUNK = 4096  # arrivals drawn at a time: a long test never holds its whole schedule
_STREAM = 0x0A7712  # keeps the schedule's random stream apart from the payloads' of one seed


@dataclass(frozen=True, slots=True)
class ArrivalPlan:
    """An open loop's schedule: `rate_rps` across the whole test, this process's share of it."""

    rate_rps: float
    kind: ArrivalKind = "poisson"
    burstiness: float = 1.0  # gamma's shape; only gamma uses it
    slot: int = 0  # this process's place among `of` load generators
    of: int = 1

    def __post_init__(self) -> None:
        if self.rate_rps <= 0 or self.burstiness <= 0:
            raise ValueError("an arrival rate and burstiness are positive")
        if not 0 <= self.slot < self.of:
            raise ValueError(f"slot {self.slot} is not one of {self.of}")


class Schedule:
    """Due times (seconds after the start) of one process's arrivals, in order, forever."""

    def __init__(self, plan: ArrivalPlan, seed: int) -> None:
        self.plan = plan
        self._rng = np.random.default_rng([_STREAM, seed])
        self._last = 0.0  # due time of the last arrival drawn, of any slot
        self._drawn = 0  # arrivals drawn, of every slot
        self._mine: list[float] = []
        self._pos = 0

    def _gaps(self, n: int) -> np.ndarray:
        p, mean_s = self.plan, 1.0 / self.plan.rate_rps
        if p.kind == "constant":
            return np.full(n, mean_s)
        if p.kind == "poisson":
            return self._rng.exponential(mean_s, n)
        return self._rng.gamma(p.burstiness, mean_s / p.burstiness, n)

    def _draw(self) -> None:
        due = self._last + np.cumsum(self._gaps(_CHUNK))
        self._last = float(due[-1])
        first = (self.plan.slot - self._drawn) % self.plan.of
        self._mine = due[first :: self.plan.of].tolist()
        self._pos = 0
        self._drawn += _CHUNK

    def next(self) -> float:
        """The next due time of this process's share."""
        while self._pos >= len(self._mine):
            self._draw()
        self._pos += 1
        return self._mine[self._pos - 1]

    def until(self, horizon_s: float) -> list[float]:
        """Every due time of this share before `horizon_s` (from where the schedule stands)."""
        times = []
        while (t := self.next()) < horizon_s:
            times.append(t)
        self._pos -= 1  # the one past the horizon stays next
        return times


@dataclass(frozen=True, slots=True)
class ArrivalCount:
    """What one load generator made of its share: arrivals that came due, those dropped because
    every one of its in-flight slots was busy, and for how long arrivals came (first to last)."""

    due: int = 0
    dropped: int = 0
    active_s: float = 0.0

    def __add__(self, other: ArrivalCount) -> ArrivalCount:
        return ArrivalCount(
            self.due + other.due, self.dropped + other.dropped, max(self.active_s, other.active_s)
        )


@dataclass(frozen=True, slots=True)
class LoadShape:
    """How the load was offered: an open loop's plan and cap, or a closed loop's users."""

    mode: Literal["open", "closed"]
    offered_rps: float | None = None
    arrival: ArrivalKind | Literal["trace"] | None = None
    burstiness: float | None = None
    max_in_flight: int | None = None


def load_figures(
    shape: LoadShape,
    count: ArrivalCount | None,
    timing: Timing,
    duration_s: float,
) -> LoadFigures:
    """summary.json's `load`: what was offered against what was sent, answered, late, dropped.
    An open loop's achieved rate is over the time its arrivals came, not its users' ramp."""
    span_s = count.active_s if count and count.active_s > 0 else duration_s
    lags = np.array([]) if timing.send_lag_s is None else timing.send_lag_s
    lags = lags[~np.isnan(lags)]
    lag = latency_ms(lags)
    return LoadFigures(
        mode=shape.mode,
        offered_rps=shape.offered_rps,
        arrival=shape.arrival,
        burstiness=shape.burstiness if shape.arrival == "gamma" else None,
        max_in_flight=shape.max_in_flight,
        due=count.due if count else None,
        achieved_rps=rate(len(timing), span_s),
        late=int(np.count_nonzero(lags > LATE_S)),
        dropped=count.dropped if count else 0,
        unfinished=count.due - count.dropped - len(timing) if count else None,
        send_lag_p50_ms=lag.p50,
        send_lag_p99_ms=lag.p99,
        send_lag_max_ms=lag.max,
    )
