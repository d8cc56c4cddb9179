"""The charts' binned series, on requests whose windows are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.columns import RecordColumns
from loadtest.core.series import latency_by_length, latency_cdf, windows
from tests.support.columns import columns


def cols(rows: list[tuple[float, float, bool, int, int]]) -> RecordColumns:
    """(start s after t0=100, latency s, ok, user, chars) per request."""
    a = np.array(rows, dtype=float)
    return columns(
        100.0 + a[:, 0],
        a[:, 1],
        ok=a[:, 2].astype(bool),
        user=a[:, 3].astype(np.int64),
        chars=a[:, 4].astype(np.int64),
        tokens=np.full(len(rows), np.nan),
    )


def test_windows_by_send_time_and_completion_time() -> None:
    c = cols(
        [
            (0.1, 0.010, True, 0, 10),
            (0.2, 0.030, True, 1, 10),
            (0.9, 0.300, True, 0, 10),  # sent in window 0, done in window 1
            (1.5, 0.020, False, 1, 10),  # an error: no latency figure, counted as an error
            (2.2, 0.050, True, 0, 10),
        ]
    )
    w = windows(c, 100.0)
    assert w.width_s == 1.0 and list(w.t_s) == [0.0, 1.0, 2.0]
    # latency by the window a request was sent in: 10, 30, 300 ms in window 0
    assert w.p50_ms[0] == pytest.approx(30.0) and w.p99_ms[0] == pytest.approx(30 + 0.98 * 270)
    assert np.isnan(w.p50_ms[1]) and w.p50_ms[2] == pytest.approx(50.0)
    # throughput by the window a request finished in
    assert list(w.ok_per_s) == [2.0, 1.0, 1.0] and list(w.errors_per_s) == [0.0, 1.0, 0.0]
    assert list(w.active_users) == [2, 1, 1]


def test_windows_widen_to_stay_under_the_limit() -> None:
    c = cols([(float(t), 0.01, True, 0, 5) for t in range(100)])
    w = windows(c, 100.0, max_windows=10)
    assert w.width_s == 10.0 and len(w.t_s) == 10 and list(w.ok_per_s) == [1.0] * 10


def test_cdf_spans_the_latencies_in_order() -> None:
    lat_ms, frac = latency_cdf(np.array([0.001, 0.002, 0.003, 0.004]), points=4)
    assert list(frac) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert list(lat_ms) == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert latency_cdf(np.zeros(0))[0].size == 0


def test_latency_by_length_bins_successes_by_characters() -> None:
    c = cols([(0, 0.010, True, 0, 10), (0, 0.020, True, 0, 10), (0, 0.5, True, 0, 1000)])
    c_err = cols([(0, 9.0, False, 0, 500)])
    bins = latency_by_length(c, bins=4)
    assert list(bins.count) == [2, 1]  # short texts in the first bin, the long one in the last
    assert bins.p50_ms[0] == pytest.approx(15.0) and bins.p50_ms[1] == pytest.approx(500.0)
    assert bins.chars_mid[0] < 100 < bins.chars_mid[1]
    assert latency_by_length(c_err).count.size == 0  # failures are not latencies
