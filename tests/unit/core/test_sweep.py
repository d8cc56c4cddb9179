"""The sweep's search, knee and answer, on made-up steps."""

from __future__ import annotations

import pytest

from loadtest.core.sweep import SweepStep, conclude, find_knee, next_rate


def step(
    load: float,
    held: bool | None = True,
    p99: float = 20.0,
    qps: float | None = None,
    offered: bool = True,
    inputs_per_s: float = 0.0,
    dropped: int = 0,
) -> SweepStep:
    answered = load if qps is None else qps
    return SweepStep(
        load=load,
        run_dir=f"rate-{load:g}",
        offered_rps=load if offered else None,
        users=None if offered else int(load),
        batch=int(load) if not offered else 1,
        requests=100,
        error_rate=0.0,
        qps=answered,
        inputs_per_s=inputs_per_s,
        achieved_rps=answered,
        p50_ms=p99 / 2,
        p99_ms=p99,
        dropped=dropped,
        late=0,
        slo=[],
        within_slo=held,
    )


def test_the_search_brackets_then_bisects_to_the_precision() -> None:
    capacity = 70.0
    steps: list[SweepStep] = []
    while (rate := next_rate(100.0, steps, precision=0.05)) is not None:
        steps.append(step(rate, held=rate <= capacity))
        assert len(steps) < 20
    held = max(s.load for s in steps if s.within_slo)
    failed = min(s.load for s in steps if not s.within_slo and s.load > held)
    assert held <= capacity < failed <= held * 1.05
    assert [s.load for s in steps[:3]] == [100.0, 50.0, 75.0]  # halve, then bisect


def test_the_search_doubles_while_the_slo_holds_and_gives_up_low() -> None:
    assert next_rate(10.0, [step(10.0), step(20.0)], 0.1) == 40.0
    assert next_rate(1.0, [step(0.125, held=False)], 0.1) is None  # below 0.1 req/s: stop
    assert next_rate(10.0, [step(20.0, held=False), step(40.0)], 0.1) == 80.0  # noisy: go on up


def test_knee_where_the_rate_is_not_kept_up_or_p99_climbs() -> None:
    steps = [step(10, p99=10), step(20, p99=12), step(40, p99=25), step(80, qps=60, p99=28)]
    knee = find_knee("rates", steps, factor=3.0)
    assert knee is not None and knee.load == 80 and "answered 60.0 of 80" in knee.reason
    steps[2] = step(40, p99=31)
    knee = find_knee("rates", steps, factor=3.0)
    assert knee is not None and knee.load == 40 and "over 3x its low-load 10.0 ms" in knee.reason
    assert find_knee("rates", steps[:2], factor=3.0) is None


def test_knee_of_a_closed_loop_is_where_qps_stops_growing() -> None:
    users = [step(u, offered=False, qps=q) for u, q in ((1, 100), (4, 380), (16, 395), (64, 400))]
    knee = find_knee("users", users, factor=3.0)
    assert knee is not None and knee.load == 16 and "QPS 395.0 at 16 users" in knee.reason


@pytest.mark.parametrize("has_slo", [True, False])
def test_the_answer(has_slo: bool) -> None:
    steps = [step(20), step(40), step(80, held=False, p99=90)]
    knee = find_knee("rates", steps, 3.0)
    max_rps, best, answer = conclude("rates", steps, knee, has_slo)
    assert answer is not None and answer.load == 40 and best is None
    assert max_rps == (40 if has_slo else None)
    batches = [step(b, offered=False, inputs_per_s=i) for b, i in ((1, 90), (16, 900), (64, 700))]
    _, best, answer = conclude("batch", batches, None, False)
    assert best == 16 and answer is not None and answer.inputs_per_s == 900
    assert conclude("rates", [step(5, held=False)], None, True) == (None, None, None)
