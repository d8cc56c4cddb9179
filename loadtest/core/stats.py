"""Exact statistics over full-resolution records, and the one place a RunSummary is assembled.

Percentiles are numpy's default (linear interpolation between order statistics) over every
successful request's latency, never Locust's rounded buckets. Rates count successes only, over
the load's wall-clock duration (METRICS in results.py): a server that answers 429 instantly
must not look fast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from loadtest.core.results import Cost, Figures, LatencyMs, RunSummary, ServerTimeMs
from loadtest.core.telemetry import Telemetry, gpu_summary, oom_events, process_summary
from loadtest.core.types import ErrorKind, RequestRecord

PERCENTILES: dict[str, float] = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
_SAMPLES_PER_KIND = 3


def latency_ms(latencies_s: Sequence[float] | np.ndarray) -> LatencyMs:
    """P50/P90/P99/P99.9, max and mean in milliseconds; None for each when there is no sample."""
    values = np.asarray(latencies_s, dtype=np.float64) * 1000.0
    if values.size == 0:
        return LatencyMs(p50=None, p90=None, p99=None, p999=None, max=None, mean=None)
    points = np.percentile(values, list(PERCENTILES.values()))
    marks = {k: float(v) for k, v in zip(PERCENTILES, points, strict=True)}
    return LatencyMs(**marks, max=float(values.max()), mean=float(values.mean()))


def rate(count: float, duration_s: float) -> float:
    """Per second of the load's duration: how QPS, inputs/s and tokens/s are all computed."""
    return count / duration_s if duration_s > 0 else 0.0


def figures(records: Sequence[RequestRecord], duration_s: float) -> Figures:
    """Counts, error kinds, rates and latency of one group of records."""
    ok = [r for r in records if r.error is None]
    kinds = Counter(r.error for r in records if r.error is not None)
    token_counts = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
    return Figures(
        requests=len(records),
        ok=len(ok),
        errors={kind: kinds.get(kind, 0) for kind in ErrorKind},
        error_rate=(len(records) - len(ok)) / len(records) if records else 0.0,
        qps=rate(len(ok), duration_s),
        inputs_per_s=rate(sum(r.inputs for r in ok), duration_s),
        # Servers that report no usage get null, not a made-up zero.
        tokens_per_s=rate(sum(token_counts), duration_s) if token_counts else None,
        latency_ms=latency_ms([r.latency_s for r in ok]),
    )


def _grouped(
    records: Sequence[RequestRecord], key: Callable[[RequestRecord], str], duration_s: float
) -> dict[str, Figures]:
    groups: dict[str, list[RequestRecord]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return {name: figures(group, duration_s) for name, group in sorted(groups.items())}


def error_samples(records: Sequence[RequestRecord]) -> dict[ErrorKind, list[str]]:
    """A few distinct messages per error kind, for people reading the summary."""
    samples: dict[ErrorKind, list[str]] = {}
    for r in records:
        if r.error is None or r.error_message is None:
            continue
        seen = samples.setdefault(r.error, [])
        if len(seen) < _SAMPLES_PER_KIND and r.error_message not in seen:
            seen.append(r.error_message)
    return samples


def cost(usd_per_hour: float, fig: Figures) -> Cost:
    """The price of a second over what a second served, per million: the measured rates'
    cost at `usd_per_hour` (--gpu-cost-per-hour)."""

    def per_1m(rate_per_s: float | None) -> float | None:
        return usd_per_hour / 3600 / rate_per_s * 1e6 if rate_per_s else None

    return Cost(
        usd_per_hour=usd_per_hour,
        usd_per_1m_tokens=per_1m(fig.tokens_per_s),
        usd_per_1m_inputs=per_1m(fig.inputs_per_s),
        usd_per_1m_requests=per_1m(fig.qps),
    )


def server_time(records: Sequence[RequestRecord]) -> ServerTimeMs | None:
    """Percentiles of the server's own clock over the good replies that carried it."""
    timed = [r for r in records if r.error is None and r.server_s is not None]
    if not timed:
        return None
    clock = np.array([r.server_s for r in timed], dtype=np.float64)
    rest = np.array([r.latency_s for r in timed]) - clock[:, 3]
    parts = {name: latency_ms(clock[:, i]) for i, name in enumerate(_CLOCK_PARTS)}
    return ServerTimeMs(requests=len(timed), **parts, rest=latency_ms(rest))


_CLOCK_PARTS = ("queue", "tokenization", "inference", "total")  # RequestRecord.server_s order


def summarize(
    records: Sequence[RequestRecord],
    telemetry: Telemetry,
    *,
    meta: dict[str, object],
    duration_s: float,
    load_start: float,
) -> RunSummary:
    """summary.json from a run's records and telemetry; `meta` says what ran (RunSummary's
    scenario, target, model, ... fields)."""
    return RunSummary.model_validate(
        {
            **meta,
            **dict(figures(records, duration_s)),
            "duration_s": duration_s,
            "error_samples": error_samples(records),
            "server_time_ms": server_time(records),
            "workers": sorted({r.worker for r in records}),
            "by_category": _grouped(records, lambda r: r.category, duration_s),
            "by_bucket": _grouped(records, lambda r: r.bucket, duration_s),
            "startup": telemetry.startup,
            "gpu": gpu_summary(telemetry.gpu, load_start=load_start, server_pids=telemetry.pids),
            "gpu_unavailable": None if telemetry.gpu else telemetry.gpu_unavailable,
            "server_process": process_summary(telemetry.process, load_start=load_start),
            "oom_threshold": telemetry.oom_threshold,
            "oom_events": oom_events(
                records, telemetry.gpu, telemetry.health, threshold=telemetry.oom_threshold
            ),
        }
    )
