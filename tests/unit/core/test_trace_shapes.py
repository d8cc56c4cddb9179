"""`embload trace synth`'s shapes: each holds its rate over time, its spread, the seed, and the
scenario's mix of inputs, categories and lengths; a trace streams however long."""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pytest

from loadtest.core.payloads import SCENARIOS
from loadtest.core.trace import CHARS_PER_TOKEN
from loadtest.core.trace_shapes import (
    SHAPES,
    Mix,
    Shape,
    ShapeName,
    daily_fraction,
    scenario_mix,
    synthesize,
)

PEAK = scenario_mix(SCENARIOS["peak"])


def times(shape: Shape, seed: int = 0, mix: Mix = PEAK) -> np.ndarray:
    return np.array([r.t_s for r in synthesize(shape, mix, seed)])


def cv(t: np.ndarray) -> float:
    gaps = np.diff(t)
    return float(gaps.std() / gaps.mean())


@pytest.mark.parametrize(
    ("shape", "expected", "rel"),
    [
        (Shape("constant", 40.0, 300.0), 40 * 300, 0.001),
        (Shape("poisson", 40.0, 300.0), 40 * 300, 0.05),
        (Shape("gamma", 40.0, 300.0, burstiness=0.25), 40 * 300, 0.1),
        (Shape("ramp", 10.0, 300.0, rate_to_rps=70.0), 40 * 300, 0.05),
        # 4 spikes (at 60, 120, 180, 240 s) of 10 s at 4 x 20 req/s, over a base of 20 req/s
        (Shape("spikes", 20.0, 300.0, spike_x=4, spike_every_s=60, spike_s=10), 6000 + 2400, 0.05),
        (Shape("daily", 100.0, 240.0), 0.55 * 100 * 240, 0.05),
    ],
    ids=lambda v: v.name if isinstance(v, Shape) else "",
)
def test_each_shape_sends_its_requests_within_its_duration(
    shape: Shape, expected: float, rel: float
) -> None:
    t = times(shape)
    assert len(t) == pytest.approx(expected, rel=rel)
    assert t[0] >= 0 and t[-1] < shape.duration_s
    assert np.all(np.diff(t) >= 0)


@pytest.mark.parametrize(
    ("name", "burstiness", "expected_cv"),
    [("constant", 1.0, 0.0), ("poisson", 1.0, 1.0), ("gamma", 0.25, 2.0), ("gamma", 4.0, 0.5)],
)
def test_burstiness_is_the_gaps_cv(name: ShapeName, burstiness: float, expected_cv: float) -> None:
    t = times(Shape(name, 50.0, 400.0, burstiness=burstiness))
    assert cv(t) == pytest.approx(expected_cv, abs=0.12)
    assert np.diff(t).mean() == pytest.approx(1 / 50, rel=0.06)


def test_a_ramp_goes_from_its_first_rate_to_its_last() -> None:
    shape = Shape("ramp", 10.0, 600.0, rate_to_rps=100.0)
    t = times(shape)
    first = np.count_nonzero(t < 60) / 60  # the mean over the first tenth: 14.5 req/s
    last = np.count_nonzero(t >= 540) / 60  # over the last: 95.5 req/s
    assert first == pytest.approx(14.5, rel=0.15)
    assert last == pytest.approx(95.5, rel=0.08)
    assert shape.rate_at(0) == 10 and shape.rate_at(600) == 100 and shape.rate_at(300) == 55
    down = times(Shape("ramp", 50.0, 200.0, rate_to_rps=0.0))
    assert np.count_nonzero(down < 100) > 2.5 * np.count_nonzero(down >= 100)


def test_spikes_come_every_period_at_x_times_the_rate() -> None:
    shape = Shape("spikes", 20.0, 300.0, spike_x=5, spike_every_s=60, spike_s=5)
    t = times(shape)
    in_spike = np.array([shape.rate_at(x) > 20 for x in t])
    assert np.count_nonzero(in_spike) / (4 * 5) == pytest.approx(100, rel=0.1)  # 4 spikes
    assert np.count_nonzero(t < 60) / 60 == pytest.approx(20, rel=0.15)  # opens at the base
    assert [shape.rate_at(x) for x in (0, 59.9, 60, 64.9, 65, 120.5)] == [20, 20, 100, 100, 20, 100]


def test_the_daily_curve_is_low_at_night_and_peaks_in_the_afternoon() -> None:
    assert daily_fraction(4) == pytest.approx(0.1)
    assert daily_fraction(14) == pytest.approx(1.0)
    hours = np.linspace(0, 24, 24 * 60, endpoint=False)
    curve = np.array([daily_fraction(h) for h in hours])
    assert curve.min() == pytest.approx(0.1, abs=1e-3) and curve.max() == pytest.approx(1, abs=1e-3)
    assert np.abs(np.diff(curve)).max() < 0.01  # smooth: no step anywhere, midnight included
    assert abs(daily_fraction(0) - daily_fraction(24 - 1e-9)) < 1e-6
    assert curve.mean() == pytest.approx(0.55, abs=0.01)
    shape = Shape("daily", 100.0, 2400.0)  # an hour is 100 s
    t = times(shape)
    night = np.count_nonzero((t >= 350) & (t < 450)) / 100
    noon = np.count_nonzero((t >= 1350) & (t < 1450)) / 100
    assert night == pytest.approx(10.5, rel=0.3) and noon == pytest.approx(99.5, rel=0.1)


@pytest.mark.parametrize("name", SHAPES)
def test_the_seed_fixes_the_trace(name: ShapeName) -> None:
    shape = Shape(name, 30.0, 60.0, rate_to_rps=5.0 if name == "ramp" else None)
    assert list(synthesize(shape, PEAK, 7)) == list(synthesize(shape, PEAK, 7))
    assert list(synthesize(shape, PEAK, 7)) != list(synthesize(shape, PEAK, 8))


def test_requests_follow_the_scenarios_mix() -> None:
    requests = list(synthesize(Shape("poisson", 100.0, 60.0), PEAK, 1))
    assert [r.line for r in requests] == list(range(1, len(requests) + 1))
    categories = [r.category for r in requests]
    for c in ("zh", "en", "code", "mixed"):  # drawn evenly, as peak draws its strata
        assert categories.count(c) / len(requests) == pytest.approx(0.25, abs=0.04)
    for r in requests:
        assert r.texts is None and r.tokens is not None and r.inputs == 1
        top = math.ceil(1100 / CHARS_PER_TOKEN[r.category or ""])
        assert 1 <= r.tokens[0] <= top
    medium = scenario_mix(SCENARIOS["medium"])
    for r in itertools.islice(synthesize(Shape("constant", 10.0, 60.0), medium, 1), 50):
        assert r.category == "zh" and r.inputs == 10
        assert all(round(20 / 1.4) <= n <= round(200 / 1.4) for n in r.tokens or ())


def test_given_inputs_replace_the_scenarios() -> None:
    mix = scenario_mix(SCENARIOS["single"], [1, 4, 16])
    counts = {r.inputs for r in synthesize(Shape("poisson", 100.0, 30.0), mix, 2)}
    assert counts == {1, 4, 16}


def test_a_trace_streams_however_long() -> None:
    huge = synthesize(Shape("poisson", 1e6, 1e6), PEAK, 0)  # a trillion requests
    assert inspect.isgenerator(huge)
    first = list(itertools.islice(huge, 10_000))
    assert len(first) == 10_000 and first[-1].t_s < 0.02


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "poisson", "rate_rps": 0.0, "duration_s": 10.0},
        {"name": "poisson", "rate_rps": 1.0, "duration_s": 0.0},
        {"name": "ramp", "rate_rps": 1.0, "duration_s": 10.0},
        {"name": "spikes", "rate_rps": 1.0, "duration_s": 10.0, "spike_s": 60.0},
        {"name": "spikes", "rate_rps": 1.0, "duration_s": 10.0, "spike_x": 0.5},
    ],
)
def test_a_shape_that_cannot_be_drawn_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Shape(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Mix((), ("en",), 1, 10)
