"""Open-loop schedules: their rate and spread by kind, the seed, workers' shares, and what a run
made of them (the summary's load block)."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.arrivals import (
    ArrivalCount,
    ArrivalPlan,
    LoadShape,
    Schedule,
    load_figures,
)
from loadtest.core.columns import RecordColumns
from loadtest.core.record import RecordRow
from loadtest.core.types import ErrorKind


def gaps(plan: ArrivalPlan, seed: int = 0, horizon_s: float = 200.0) -> np.ndarray:
    return np.diff([0.0, *Schedule(plan, seed).until(horizon_s)])


@pytest.mark.parametrize(
    ("kind", "burstiness", "cv"),
    [("constant", 1.0, 0.0), ("poisson", 1.0, 1.0), ("gamma", 0.25, 2.0), ("gamma", 4.0, 0.5)],
)
def test_each_kind_holds_its_rate_and_spread(kind: str, burstiness: float, cv: float) -> None:
    g = gaps(ArrivalPlan(50.0, kind, burstiness))  # type: ignore[arg-type]
    assert len(g) == pytest.approx(50 * 200, rel=0.05)
    assert g.mean() == pytest.approx(1 / 50, rel=0.05)
    assert g.std() / g.mean() == pytest.approx(cv, abs=0.1)  # gamma's CV is 1/sqrt(shape)


def test_the_seed_fixes_the_schedule() -> None:
    plan = ArrivalPlan(100.0)
    assert Schedule(plan, 7).until(30.0) == Schedule(plan, 7).until(30.0)
    assert Schedule(plan, 7).until(30.0) != Schedule(plan, 8).until(30.0)


def test_workers_shares_together_are_the_one_schedule() -> None:
    whole = Schedule(ArrivalPlan(300.0, "gamma", 0.5), 3).until(60.0)  # > one chunk of 4096
    shares = [Schedule(ArrivalPlan(300.0, "gamma", 0.5, k, 3), 3).until(60.0) for k in range(3)]
    assert sorted(t for share in shares for t in share) == whole
    assert [len(s) for s in shares] == [len(whole[k::3]) for k in range(3)]


def test_a_schedule_goes_on_past_the_horizon_where_it_stood() -> None:
    s = Schedule(ArrivalPlan(1000.0), 1)
    first, rest = s.until(5.0), s.until(10.0)
    assert first + rest == Schedule(ArrivalPlan(1000.0), 1).until(10.0)
    assert first[-1] < 5.0 <= rest[0]


@pytest.mark.parametrize(
    "plan",
    [
        {"rate_rps": 0.0},
        {"rate_rps": 10.0, "burstiness": 0.0},
        {"rate_rps": 10.0, "slot": 2, "of": 2},
    ],
)
def test_plans_that_cannot_be(plan: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ArrivalPlan(**plan)  # type: ignore[arg-type]


def record(lag_s: float | None, ok: bool = True) -> RecordRow:
    error = None if ok else ErrorKind.TIMEOUT
    return RecordRow(1.0, 0.01, 200, error, None, 1, 10, 3, "zh", "s", 0, "local", lag_s)


def test_load_block_of_an_open_loop() -> None:
    records = [record(0.001)] * 97 + [record(0.011), record(0.05), record(0.002, ok=False)]
    shape = LoadShape("open", 50.0, "gamma", 0.5, max_in_flight=16)
    load = load_figures(
        shape, ArrivalCount(due=105, dropped=4), RecordColumns.from_records(records).timing(), 2.0
    )
    assert (load.mode, load.offered_rps, load.arrival, load.burstiness) == (
        "open",
        50,
        "gamma",
        0.5,
    )
    assert (load.due, load.dropped, load.late, load.max_in_flight) == (105, 4, 2, 16)
    assert load.unfinished == 1  # in flight when the test stopped: neither dropped nor answered
    assert load.achieved_rps == 50.0  # every completed request, the failed one too
    assert load.send_lag_p50_ms == pytest.approx(1.0) and load.send_lag_max_ms == pytest.approx(50)


def test_load_block_of_a_closed_loop() -> None:
    closed = RecordColumns.from_records([record(None)] * 10).timing()
    load = load_figures(LoadShape("closed"), None, closed, duration_s=5.0)
    assert (load.mode, load.offered_rps, load.due, load.late, load.dropped) == (
        "closed",
        None,
        None,
        0,
        0,
    )
    assert load.achieved_rps == 2.0 and load.send_lag_p99_ms is None and load.unfinished is None
    assert ArrivalCount(3, 1) + ArrivalCount(4, 2) == ArrivalCount(7, 3)
