"""A trace replayed, and a warm-up: which process sends which line when, and which requests count.

A trace's lines are shared out by their order, the i-th request to load generator i mod N, so N
processes (a Locust master's workers, or `--processes N`) send every line once and none twice,
each streaming the file on its own: memory stays one line deep however long the trace.
`--trace-speed X` divides every time by X.

A warm-up is load sent before the measured part: by time (everything due or sent in the first
`duration_s`) or by count (the first `requests`, each process its share). Its requests are
recorded and marked, and the store leaves them out of every figure (store/table.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from loadtest.core.trace import TraceRequest


class TraceSchedule:
    """One process's share of a trace, in order: (due time from the start, the request)."""

    def __init__(
        self, requests: Iterator[TraceRequest], speed: float = 1.0, slot: int = 0, of: int = 1
    ) -> None:
        if speed <= 0:
            raise ValueError("a trace's speed is positive")
        if not 0 <= slot < of:
            raise ValueError(f"slot {slot} is not one of {of}")
        self._requests = requests
        self.speed, self.slot, self.of = speed, slot, of
        self._seen = 0  # requests of every slot read so far

    def next(self) -> tuple[float, TraceRequest] | None:
        """The next request of this share and when it is due; None once the trace has ended."""
        for request in self._requests:
            mine = self._seen % self.of == self.slot
            self._seen += 1
            if mine:
                return request.t_s / self.speed, request
        return None


@dataclass(frozen=True, slots=True)
class Warmup:
    """`--warmup`: a span of time, a number of requests, or none (0)."""

    duration_s: float = 0.0
    requests: int = 0

    @property
    def none(self) -> bool:
        return self.duration_s <= 0 and self.requests <= 0

    def share(self, slot: int, of: int) -> Warmup:
        """A process's part: the same span, or its share of the count (first slots round up)."""
        return Warmup(self.duration_s, self.requests // of + (slot < self.requests % of))

    def describe(self) -> str:
        if self.requests:
            return f"{self.requests} requests"
        return f"{self.duration_s:g} s" if self.duration_s > 0 else "none"


def parse_warmup(text: str) -> Warmup:
    """The setting as config/base.py's `warmup_text` leaves it: `200` (requests) or `12.5s`."""
    value = text.strip()
    if value.endswith("s"):
        return Warmup(duration_s=float(value[:-1]))
    return Warmup(requests=int(value))


class WarmupCounter:
    """Whether each request, in the order a process sends them, is warm-up."""

    def __init__(self, warmup: Warmup, start_s: float) -> None:
        self.until_s = start_s + warmup.duration_s if warmup.duration_s > 0 else None
        self.left = warmup.requests

    def __call__(self, at_s: float) -> bool:
        """`at_s`: when the request was due or sent (Unix s)."""
        if self.left > 0:
            self.left -= 1
            return True
        return self.until_s is not None and at_s < self.until_s
