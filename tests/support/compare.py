"""Compares of known data: sides of synthetic requests and a scenario's comparison of them."""

from __future__ import annotations

import numpy as np

from loadtest.core.compare import SideData, side_data
from loadtest.core.comparisons import Difference, ScenarioComparison, Side, Versus
from tests.support.columns import columns


def side(
    rng: np.random.Generator,
    scale: float = 1.0,
    rate: float = 50.0,
    error_rate: float = 0.01,
    seconds: float = 60.0,
) -> SideData:
    """`seconds` of a server answering `rate` requests a second at random times, 30 tokens
    each, independent latencies (drifting ones: drift.py)."""
    n = int(rng.poisson(rate * seconds))
    latency = rng.lognormal(np.log(0.05), 0.4, n) * scale
    start = np.sort(rng.uniform(0, seconds, n)) - latency
    cols = columns(start, latency, ok=rng.random(n) >= error_rate)
    return side_data(cols, 0.0, seconds)


def figures(data: SideData, name: str = "A") -> Side:
    """A side's figures, placeholders but for its request counts."""
    return Side.model_validate(
        {
            "candidate": name,
            "requests": data.requests,
            "ok": data.latency_s.size,
            "errors": {},
            "error_rate": 0.0,
            "qps": 1.0,
            "inputs_per_s": 1.0,
            "tokens_per_s": None,
            "latency_ms": {k: 1.0 for k in ("p50", "p90", "p99", "p999", "max", "mean")},
            "run_dirs": [],
            "target": "t",
            "model": None,
            "weights": None,
            "duration_s": 60.0,
            "oom_events": 0,
            "peak_gpu_mem_bytes": None,
            "startup_s": None,
        }
    )


def comparison(
    *diffs: Difference, a: SideData | None = None, b: SideData | None = None
) -> ScenarioComparison:
    """The peak scenario's comparison of B against A with `diffs`, its sides' figures from `a`
    and `b`."""
    data = side(np.random.default_rng(0))
    return ScenarioComparison(
        scenario="peak",
        baseline="A",
        sides=[figures(a or data, "A"), figures(b or data, "B")],
        versus=[Versus(candidate="B", differences=list(diffs))],
    )
