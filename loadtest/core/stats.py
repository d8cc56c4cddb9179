"""Exact statistics over full-resolution records, and the one place a RunSummary is built.

Percentiles are numpy's default (linear interpolation between order statistics) over every
successful request's latency, never Locust's rounded buckets. Rates count successes only, over
the load's wall-clock duration (METRICS in results.py): a server that answers 429 instantly
must not look fast. Everything works on the records' columns (core/columns.py), so ten
million requests cost arrays, not objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from loadtest.core.columns import ERROR_KINDS, NO_CODE, Coded, RecordColumns, Timing
from loadtest.core.record import RECORDS_SCHEMA_VERSION
from loadtest.core.results import (
    Cost,
    Figures,
    LatencyMs,
    LoadFigures,
    RunMeta,
    RunSummary,
    ServerTimeMs,
    TraceFigures,
    WarmupFigures,
)
from loadtest.core.stability import Stability
from loadtest.core.telemetry import Telemetry, gpu_summary, oom_events, process_summary
from loadtest.core.thresholds import Threshold, check_all
from loadtest.core.types import ErrorKind

PERCENTILES: dict[str, float] = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
_SAMPLES_PER_KIND = 3


def latency_ms(latencies_s: Sequence[float] | np.ndarray) -> LatencyMs:
    """P50/P90/P99/P99.9, max and mean in milliseconds; None for each when there is no sample."""
    # in seconds, scaled after: a scaled copy of ten million latencies would be 80 MB more
    values = np.asarray(latencies_s, dtype=np.float64)
    if values.size == 0:
        return LatencyMs(p50=None, p90=None, p99=None, p999=None, max=None, mean=None)
    points = np.percentile(values, list(PERCENTILES.values())) * 1000.0
    marks = {k: float(v) for k, v in zip(PERCENTILES, points, strict=True)}
    return LatencyMs(**marks, max=float(values.max()) * 1000.0, mean=float(values.mean()) * 1000.0)


def rate(count: float, duration_s: float) -> float:
    """Per second of the load's duration: how QPS, inputs/s and tokens/s are all computed."""
    return count / duration_s if duration_s > 0 else 0.0


def figures(cols: RecordColumns, duration_s: float, where: np.ndarray | None = None) -> Figures:
    """Counts, error kinds, rates and latency of the records (those `where` is true, if given)."""
    error = cols.error if where is None else cols.error[where]
    ok = error == NO_CODE
    requests, good = int(error.size), int(np.count_nonzero(ok))
    kinds = np.bincount(error[~ok].astype(np.int64), minlength=len(ERROR_KINDS))

    def of_ok(column: np.ndarray) -> np.ndarray:
        picked: np.ndarray = column[ok] if where is None else column[where][ok]
        return picked

    tokens = of_ok(cols.prompt_tokens)
    reported, token_sum = (
        tokens.size - int(np.count_nonzero(np.isnan(tokens))),
        np.nansum(tokens, dtype=np.float64),
    )
    del tokens  # before the latencies' copy: ten million of each are 80 MB
    return Figures(
        requests=requests,
        ok=good,
        errors={kind: int(kinds[i]) for i, kind in enumerate(ERROR_KINDS)},
        error_rate=(requests - good) / requests if requests else 0.0,
        qps=rate(good, duration_s),
        inputs_per_s=rate(int(of_ok(cols.inputs).sum()), duration_s),
        # Servers that report no usage get null, not a made-up zero.
        tokens_per_s=rate(float(token_sum), duration_s) if reported else None,
        latency_ms=latency_ms(of_ok(cols.latency_s)),
    )


def _grouped(cols: RecordColumns, key: Coded, duration_s: float) -> dict[str, Figures]:
    groups = {key.values[int(c)]: int(c) for c in np.unique(key.codes) if c != NO_CODE}
    return {name: figures(cols, duration_s, key.codes == groups[name]) for name in sorted(groups)}


def error_samples(cols: RecordColumns) -> dict[ErrorKind, list[str]]:
    """A few distinct messages per error kind, in the order they first came, for people
    reading the summary."""
    said = np.flatnonzero((cols.error != NO_CODE) & (cols.error_message.codes != NO_CODE))
    pairs = cols.error[said].astype(np.int64) * (len(cols.error_message.values) + 1)
    pairs += cols.error_message.codes[said]
    _, first = np.unique(pairs, return_index=True)
    samples: dict[ErrorKind, list[str]] = {}
    for i in said[np.sort(first)]:
        seen = samples.setdefault(ERROR_KINDS[int(cols.error[i])], [])
        if len(seen) < _SAMPLES_PER_KIND:
            seen.append(cols.error_message.values[int(cols.error_message.codes[i])])
    return samples


def cost_per_1m(usd_per_hour: float, rate_per_s: float | None) -> float | None:
    """The price of a second over what a second served, per million; None for nothing served."""
    return usd_per_hour / 3600 / rate_per_s * 1e6 if rate_per_s else None


def cost(usd_per_hour: float, fig: Figures) -> Cost:
    """The measured rates' cost at `usd_per_hour` (--gpu-cost-per-hour)."""

    def per_1m(rate_per_s: float | None) -> float | None:
        return cost_per_1m(usd_per_hour, rate_per_s)

    return Cost(
        usd_per_hour=usd_per_hour,
        usd_per_1m_tokens=per_1m(fig.tokens_per_s),
        usd_per_1m_inputs=per_1m(fig.inputs_per_s),
        usd_per_1m_requests=per_1m(fig.qps),
    )


def server_time(t: Timing) -> ServerTimeMs | None:
    """summary.json's `server_time_ms`: percentiles of the server's own clock over the good
    replies that carried it."""
    clock = (t.server_queue_s, t.server_tokenization_s, t.server_inference_s, t.server_total_s)
    if any(part is None for part in clock):  # a record has all four parts or none
        return None
    queue, tokenization, inference, total = (p for p in clock if p is not None)
    timed = t.ok & ~np.isnan(total)
    if not timed.any():
        return None
    return ServerTimeMs(
        requests=int(np.count_nonzero(timed)),
        queue=latency_ms(queue[timed]),
        tokenization=latency_ms(tokenization[timed]),
        inference=latency_ms(inference[timed]),
        total=latency_ms(total[timed]),
        rest=latency_ms(t.latency_s[timed] - total[timed]),
    )


def summarize(
    cols: RecordColumns,
    telemetry: Telemetry,
    meta: RunMeta,
    *,
    duration_s: float,
    load_start: float,
    server_time_ms: ServerTimeMs | None = None,
    load: LoadFigures | None = None,
    usd_per_hour: float | None = None,
    thresholds: Sequence[Threshold] = (),
    trace: TraceFigures | None = None,
    warmup: WarmupFigures | None = None,
    stability: Stability | None = None,
) -> RunSummary:
    """summary.json, in one piece: what ran (`meta`), the figures of its records (as columns),
    its telemetry, the figures of its timing columns (`server_time_ms`, `load`: the store reads
    those apart), its cost and each threshold's verdict."""
    overall = figures(cols, duration_s)
    return RunSummary(
        **dict(meta),
        **dict(overall),
        records_schema_version=RECORDS_SCHEMA_VERSION,
        server_time_ms=server_time_ms,
        cost=cost(usd_per_hour, overall) if usd_per_hour is not None else None,
        duration_s=duration_s,
        error_samples=error_samples(cols),
        workers=cols.worker.used(),
        by_category=_grouped(cols, cols.category, duration_s),
        by_bucket=_grouped(cols, cols.bucket, duration_s),
        startup=telemetry.startup,
        gpu=gpu_summary(telemetry.gpu, load_start=load_start, server_pids=telemetry.pids),
        gpu_unavailable=None if telemetry.gpu else telemetry.gpu_unavailable,
        server_process=process_summary(telemetry.process, load_start=load_start),
        oom_threshold=telemetry.oom_threshold,
        oom_events=oom_events(
            cols, telemetry.gpu, telemetry.health, threshold=telemetry.oom_threshold
        ),
        thresholds=check_all(list(thresholds), overall, stability=stability),
        load=load,
        trace=trace,
        warmup=warmup,
        stability=stability,
    )
