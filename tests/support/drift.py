"""Synthetic closed-loop runs whose latencies drift: an AR(1) process on a 0.1 s grid (what a
server's warm-up, clocks and batching do to a run) on top of per-request noise. The truth is
known, so the compare intervals' coverage can be measured."""

from __future__ import annotations

import numpy as np

from loadtest.core.columns import RecordColumns
from loadtest.core.compare import SideData, pooled, side_data
from tests.support.columns import columns as records

STEP_S = 0.1


def drifting_run(
    rng: np.random.Generator,
    seconds: float,
    *,
    users: int = 4,
    base_s: float = 0.02,
    phi: float = 0.9,  # per 0.1 s step: correlation time ~1 s
    drift_sd: float = 0.15,
    noise_sd: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """(start_time, latency_s) of `users` users sending back to back for `seconds`."""
    grid = int(seconds / STEP_S) + 2
    shocks = rng.normal(0.0, drift_sd * np.sqrt(1 - phi**2), grid)
    drift = np.empty(grid)
    drift[0] = rng.normal(0.0, drift_sd)
    for k in range(1, grid):
        drift[k] = phi * drift[k - 1] + shocks[k]
    mean_s = base_s * np.exp(noise_sd**2 / 2)
    n = int(seconds / mean_s * 1.5) + 10
    starts, latencies = [], []
    for _ in range(users):
        # each request sees the drift at about its start (requests follow each other)
        at = np.minimum((np.arange(n) * mean_s / STEP_S).astype(int), grid - 1)
        latency = base_s * np.exp(drift[at] + rng.normal(0.0, noise_sd, n))
        start = np.concatenate([[0.0], np.cumsum(latency)[:-1]])
        keep = start + latency < seconds
        starts.append(start[keep])
        latencies.append(latency[keep])
    start, latency = np.concatenate(starts), np.concatenate(latencies)
    order = np.argsort(start)
    return start[order], latency[order]


def columns(start: np.ndarray, latency: np.ndarray) -> RecordColumns:
    return records(start, latency)


def abba(
    rng: np.random.Generator, half_s: float, b_scale: float = 1.0, **drift: float
) -> tuple[SideData, SideData]:
    """One drifting run cut in four halves, A B B A as compare runs them; B's latencies are
    `b_scale` times what they would have been."""
    start, latency = drifting_run(rng, 4 * half_s, **drift)  # type: ignore[arg-type]
    parts = []
    for i in range(4):
        mask = (start >= i * half_s) & (start < (i + 1) * half_s)
        scale = b_scale if i in (1, 2) else 1.0
        parts.append(side_data(columns(start[mask], latency[mask] * scale), i * half_s, half_s))
    return pooled([parts[0], parts[3]]), pooled([parts[1], parts[2]])
