"""The balanced order, the family-wise level and the Pareto front, on cases worked by hand."""

from __future__ import annotations

import pytest

from loadtest.core.decision import Point, Visit, balanced_order, family_level, pareto_front


def test_two_candidates_run_abba_with_b_started_once() -> None:
    assert balanced_order(2) == [Visit(0, (1,)), Visit(1, (1, 2)), Visit(0, (2,))]


def test_three_candidates_run_a_sequence_then_its_reverse() -> None:
    order = balanced_order(3)
    assert order == [
        Visit(0, (1,)),
        Visit(1, (1,)),
        Visit(2, (1, 2)),
        Visit(1, (2,)),
        Visit(0, (2,)),
    ]
    # A B C C B A: the halves' positions in time, 0..5; every candidate's mean is 2.5
    slots = [c.candidate for visit in order for c in [visit] * len(visit.parts)]
    assert slots == [0, 1, 2, 2, 1, 0]
    for candidate in range(3):
        at = [i for i, c in enumerate(slots) if c == candidate]
        assert sum(at) / len(at) == 2.5


@pytest.mark.parametrize("n", range(1, 9))
def test_every_candidate_runs_both_halves_once(n: int) -> None:
    halves = [(v.candidate, p) for v in balanced_order(n) for p in v.parts]
    assert sorted(halves) == [(c, p) for c in range(n) for p in (1, 2)]
    slots = [c for c, _ in halves]
    assert all(sum(i for i, c in enumerate(slots) if c == k) / 2 == n - 0.5 for k in range(n))


def test_the_level_of_each_interval_keeps_the_family_at_95_percent() -> None:
    assert family_level(0.95, 2) == pytest.approx(0.95)  # one comparison: as before
    assert family_level(0.95, 3) == pytest.approx(0.975)
    assert family_level(0.95, 8) == pytest.approx(1 - 0.05 / 7)


def test_the_front_is_what_nothing_beats_on_both_axes() -> None:
    points = [
        Point("fast-poor", 100.0, 0.50),
        Point("slow-good", 20.0, 0.80),
        Point("balanced", 60.0, 0.70),
        Point("beaten", 50.0, 0.60),  # balanced is faster and better
        Point("tie", 60.0, 0.70),  # equal to balanced: neither beats the other
    ]
    assert pareto_front(points) == ["fast-poor", "slow-good", "balanced", "tie"]


def test_a_cost_axis_is_given_negated_so_cheaper_wins() -> None:
    points = [Point("cheap", -0.01, 0.6), Point("dear", -0.05, 0.6)]
    assert pareto_front(points) == ["cheap"]
