"""Soak verdicts on synthetic series whose truth is known: leaks found, flat servers left alone."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.slopes import theil_sen, windowed
from loadtest.core.stability import (
    KIB,
    MIB,
    GrowthFit,
    growth_fit,
    kib_per_request,
    mib_per_hour,
    p99_drift,
)

T0 = 1.7e9  # unix seconds: the fits must not lose precision on real timestamps
WARMUP_S = 60.0


def memory(
    seed: int,
    *,
    per_hour_mib: float = 0.0,
    span_s: float = 1800.0,
    step_s: float = 0.5,
    saw_mib: float = 8.0,
    period_s: float | None = None,
    noise_mib: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """RSS samples: a base, a linear leak, an allocator's sawtooth (climbing, then freed), noise,
    and caches filling in the first seconds (warm-up)."""
    rng = np.random.default_rng(seed)
    x = np.arange(0.0, span_s, step_s)
    period = period_s if period_s is not None else rng.uniform(20.0, 55.0)
    saw = saw_mib * ((x / period + rng.uniform()) % 1.0)
    caches = 100.0 * (1 - np.exp(-x / 10.0))
    rss_mib = 400.0 + per_hour_mib * x / 3600 + saw + caches + rng.normal(0.0, noise_mib, x.size)
    return T0 + x, rss_mib * MIB


def fit(times: np.ndarray, rss: np.ndarray, **kwargs: object) -> GrowthFit:
    return growth_fit("server_rss", "psutil", times, rss, start_s=T0 + WARMUP_S, **kwargs)  # type: ignore[arg-type]


def test_a_linear_leak_is_found_through_sawtooth_noise_and_warmup() -> None:
    times, rss = memory(0, per_hour_mib=41.0)
    got = fit(times, rss)
    assert got.verdict == "leak_suspected"
    assert got.per_hour_bytes is not None and got.per_hour_low_bytes is not None
    assert got.per_hour_high_bytes is not None
    assert got.per_hour_bytes == pytest.approx(41 * MIB, rel=0.1)
    assert got.per_hour_low_bytes <= 41 * MIB <= got.per_hour_high_bytes
    assert got.start_s == pytest.approx(T0 + WARMUP_S)
    assert got.span_s == pytest.approx(1800 - WARMUP_S, abs=1)
    assert got.windows >= 10 and got.samples == (1800 - WARMUP_S) / 0.5
    assert got.per_request_bytes is None  # no request counts given
    # the floor at the start: the base, less the noise a minimum picks
    assert got.level_bytes == pytest.approx(500 * MIB, abs=2 * MIB)
    assert got.words.startswith("server RSS grows 4") and got.words.endswith(": leak suspected")


def test_the_interval_covers_a_small_leak_most_of_the_time() -> None:
    covered = 0
    for seed in range(50):
        got = fit(*memory(seed, per_hour_mib=10.0))
        assert got.per_hour_low_bytes is not None and got.per_hour_high_bytes is not None
        covered += got.per_hour_low_bytes <= 10 * MIB <= got.per_hour_high_bytes
    assert covered >= 44  # a 95% interval, over 50 series


def test_warmup_is_left_out() -> None:
    times, rss = memory(1, span_s=300.0)
    with_warmup = growth_fit("server_rss", "psutil", times, rss, start_s=T0)
    # caches filling, read as a trend: growth beyond doubt, if not beyond the sawtooth
    assert with_warmup.per_hour_low_bytes is not None and with_warmup.per_hour_low_bytes > 0
    after = fit(times, rss)
    assert after.per_hour_low_bytes is not None and after.per_hour_high_bytes is not None
    assert after.per_hour_low_bytes < 0 < after.per_hour_high_bytes
    assert after.verdict == "no_growth"


def test_a_flat_sawtooth_is_not_flagged() -> None:
    for period_s in (10.0, 45.0, 150.0, 400.0):  # shorter and longer than a window
        got = fit(*memory(2, saw_mib=30.0, period_s=period_s))
        assert got.verdict == "no_growth", (period_s, got.words)
    # a sawtooth far slower than the windows in a short run: the floors climb for most of it,
    # then fall back, and the second half's lowest floor says the growth was not kept
    slow = [fit(*memory(seed, saw_mib=30.0, period_s=150.0, span_s=300.0)) for seed in range(50)]
    assert sum(got.verdict != "no_growth" for got in slow) <= 1


FALSE_ALARM_SEEDS = 200


@pytest.mark.parametrize(
    ("saw_mib", "noise_mib"),
    [
        (8.0, 0.3),  # an allocator's sawtooth
        (0.0, 2.0),  # plain noise, big against the absolute floor
        (0.2, 0.1),  # a quiet Python server: a few hundred KiB of wobble
    ],
)
def test_flat_series_are_rarely_flagged(saw_mib: float, noise_mib: float) -> None:
    flagged = sum(
        fit(*memory(seed, saw_mib=saw_mib, noise_mib=noise_mib)).verdict != "no_growth"
        for seed in range(FALSE_ALARM_SEEDS)
    )
    assert flagged <= 4  # 2% of flat series


def test_too_little_data_gives_no_verdict() -> None:
    times, rss = memory(3, per_hour_mib=400.0, span_s=100.0)
    got = fit(times, rss)
    assert got.verdict == "too_little_data"
    assert got.per_hour_bytes is None and got.level_bytes is None
    assert got.words == (
        "server RSS: too little data for a verdict (40 s of samples after warm-up; "
        "at least 60 s and 10 windows needed)"
    )
    # long enough, but sampled too sparsely for ten floors of a few samples each
    sparse = fit(*memory(3, span_s=400.0, step_s=20.0))
    assert sparse.verdict == "too_little_data" and "in 5 windows of 64 s" in sparse.words
    nothing = fit(times[:0], rss[:0])
    assert nothing.verdict == "too_little_data" and "no samples after warm-up" in nothing.words


def test_growth_per_request_is_recovered() -> None:
    rng = np.random.default_rng(4)
    times = T0 + np.arange(0.0, 1200.0, 0.5)
    rate = 200 + 150 * np.sin((times - T0) / 200)  # requests per second, varying
    served = np.cumsum(rate * 0.5)
    leak = 2.0 * KIB * served
    saw = 6 * MIB * (((times - T0) / 33) % 1.0)
    rss = 300 * MIB + leak + saw + rng.normal(0, 0.2 * MIB, times.size)
    got = fit(times, rss, served_at=served)
    assert got.per_request_bytes == pytest.approx(2.0 * KIB, rel=0.1)
    assert got.per_request_low_bytes is not None and got.per_request_high_bytes is not None
    assert got.per_request_low_bytes <= 2.0 * KIB <= got.per_request_high_bytes
    assert ", 2.0 KiB per request: leak suspected" in got.words


def test_a_shrinking_series_is_named() -> None:
    got = fit(*memory(5, per_hour_mib=-30.0))
    assert got.verdict == "shrinking" and got.words.startswith("server RSS shrinks: -3")


def test_constant_memory_is_no_growth() -> None:
    times = T0 + np.arange(0.0, 600.0, 1.0)
    got = growth_fit(
        "gpu_memory", "nvml", times, np.full(times.size, 4 * MIB << 10), start_s=T0
    )  # every floor tied: Sen's variance is zero, the interval is the slope itself
    assert got.verdict == "no_growth" and got.per_hour_bytes == 0
    assert got.words == "GPU memory: no growth beyond noise (+0.00 MiB/h [0.00, 0.00])"


def latencies(
    seed: int, *, span_s: float = 1800.0, per_s: float = 50.0, drift_pct_h: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(span_s * per_s)
    end = np.sort(rng.uniform(0.0, span_s, n))
    latency = 0.02 * (1 + drift_pct_h / 100 * end / 3600) * np.exp(rng.normal(0.0, 0.3, n))
    ok = rng.random(n) > 0.02
    latency[~ok] = 30.0  # failed requests (timeouts) are no part of the P99
    return T0 + end, latency, ok


def test_a_drifting_p99_is_found() -> None:
    got = p99_drift(*latencies(0, drift_pct_h=40.0), start_s=T0)
    assert got.verdict == "drifting"
    assert got.per_hour_pct == pytest.approx(40.0, rel=0.2)
    assert got.per_hour_low_pct is not None and got.per_hour_high_pct is not None
    assert got.per_hour_low_pct <= 40.0 <= got.per_hour_high_pct
    assert got.windows == 30 and got.window_s == pytest.approx(60.0, abs=0.1)
    p99_at_start = 0.02 * np.exp(0.3 * 2.326)
    assert got.level_s == pytest.approx(p99_at_start, rel=0.05)
    assert got.words.startswith("P99 drifts +4") and got.words.endswith(": drifting")


def test_a_flat_p99_is_not_drifting() -> None:
    drifting = [
        p99_drift(*latencies(seed, span_s=600.0, per_s=20.0), start_s=T0).verdict
        for seed in range(FALSE_ALARM_SEEDS)
    ]
    assert drifting.count("drifting") <= 4
    short = p99_drift(*latencies(1, span_s=300.0), start_s=T0)
    assert short.window_s == pytest.approx(30.0, abs=0.1)  # a tenth of a short span


def test_p99_drift_needs_enough_requests() -> None:
    sparse = p99_drift(*latencies(2, per_s=0.2), start_s=T0)  # 12 requests a minute
    assert sparse.verdict == "too_little_data" and sparse.per_hour_pct is None
    assert "windows of 20 requests needed" in sparse.words
    short = p99_drift(*latencies(2, span_s=40.0), start_s=T0)
    assert short.verdict == "too_little_data" and short.window_s == pytest.approx(5.0, abs=0.01)


def test_words() -> None:
    assert mib_per_hour(41.2 * MIB, 33.4 * MIB, 49.0 * MIB) == "41 MiB/h [33, 49]"
    assert mib_per_hour(0.31 * MIB, -1.2 * MIB, 1.94 * MIB) == "0.3 MiB/h [-1.2, 1.9]"
    assert mib_per_hour(-0.04 * MIB) == "-0.04 MiB/h"
    assert mib_per_hour(0.001 * MIB, -0.001 * MIB, 0.002 * MIB) == "0.00 MiB/h [0.00, 0.00]"
    assert kib_per_request(0.8 * KIB) == "0.8 KiB per request"
    assert kib_per_request(512.0 * 1024) == "512 KiB per request"


def test_windowed_floors_and_percentiles() -> None:
    times = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 9.5, 10.0])
    values = np.array([5.0, 3.0, 4.0, 9.0, 1.0, 7.0, 2.0])
    floors = windowed(times, values, 5.0, "min", start_s=0.0, end_s=10.0)
    assert floors.value.tolist() == [1.0, 2.0] and floors.at_s.tolist() == [4.0, 10.0]
    assert floors.chosen.tolist() == [4, 6] and floors.samples.tolist() == [5, 2]
    p99 = windowed(times, values, 5.0, "p99", start_s=0.0, min_count=3)
    assert p99.value.tolist() == pytest.approx([np.percentile(values[:5], 99)])
    assert p99.at_s.tolist() == [2.5]


def test_theil_sen_matches_sens_interval() -> None:
    # what scipy.stats.theilslopes(y, x) answers on these points
    x = np.arange(10.0)
    y = np.array([0.0, 1.0, 0.5, 2.0, 1.5, 3.0, 2.5, 4.0, 3.5, 5.0])
    got = theil_sen(x, y)
    assert got is not None
    assert (got.slope, got.low, got.high) == pytest.approx((0.5, 0.375, 0.6428571428571429))
