"""The pure parts of a deployment decision among N candidates: the balanced order their runs
take, the level each candidate's intervals are computed at, and the Pareto front.

Order: the candidates in sequence, then in reverse (A B C C B A), each run twice for half the
duration. A machine that drifts slower or faster during the comparison then gives every
candidate the same mean position in time, so drift favours no one; the two halves are pooled.
Adjacent visits of one candidate (the middle one) share one start of its server.

Level: N - 1 candidates are each compared with the baseline, so each interval is at
1 - (1 - level) / (N - 1) (Bonferroni): all N - 1 intervals of a metric then hold together at
`level`, and a verdict among eight candidates is no likelier to be noise than between two.
"""

from __future__ import annotations

from typing import NamedTuple


class Visit(NamedTuple):
    """One stretch of the order: a candidate (by position) and which halves it runs then."""

    candidate: int
    parts: tuple[int, ...]


def balanced_order(n: int) -> list[Visit]:
    """A B C ... then ... C B A; the two middle visits of the last candidate are one."""
    if n < 1:
        raise ValueError(f"an order needs a candidate, got {n}")
    forward = [Visit(i, (1,)) for i in range(n - 1)]
    middle = [Visit(n - 1, (1, 2))]
    backward = [Visit(i, (2,)) for i in reversed(range(n - 1))]
    return forward + middle + backward


def family_level(level: float, candidates: int) -> float:
    """The level of each of the N - 1 intervals against the baseline (Bonferroni)."""
    comparisons = max(1, candidates - 1)
    return 1 - (1 - level) / comparisons


class Point(NamedTuple):
    name: str
    speed: float  # higher is better (req/s); a cost is given negated
    quality: float  # higher is better


def pareto_front(points: list[Point]) -> list[str]:
    """The names no other point beats on both axes (at least as good on both, better on one),
    in the order given."""

    def beaten(p: Point) -> bool:
        return any(
            q.speed >= p.speed
            and q.quality >= p.quality
            and (q.speed, q.quality) != (p.speed, p.quality)
            for q in points
        )

    return [p.name for p in points if not beaten(p)]
