"""A run's stability verdicts from its files: which memory series there are, where each came from,
and the fits core/stability.py makes of them.

The server's memory is its process tree's RSS where its PID is known (`--server-pid`, or a
server embload started), else `process_resident_memory_bytes` from its /metrics (a remote
server, scraped every second); its GPU memory is its own processes' where NVML lists them,
else the device's. embload's own is the Locust process's (loadgen.jsonl). Every fit starts
after the warm-up, and after a settling stretch when no warm-up was asked: caches fill and
allocators grow in a server's first minute without any leak.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loadtest.core.columns import RecordColumns
from loadtest.core.stability import (
    METHOD,
    GrowthFit,
    Series,
    Stability,
    growth_fit,
    p99_drift,
)
from loadtest.core.telemetry import Telemetry
from loadtest.core.types import GpuSample, MetricSample
from loadtest.store.files import read_loadgen_samples, read_server_metrics

RSS_METRIC = "process_resident_memory_bytes"  # the Prometheus client libraries' own name
SETTLE_FRACTION = 0.1  # of the run, left out when no warm-up was asked
SETTLE_MAX_S = 60.0


@dataclass(frozen=True)
class Span:
    """Where the fits start and how much they need."""

    load_start: float  # Unix s
    duration_s: float  # the whole load's, warm-up included
    warmup_end: float | None  # Unix s: the warm-up's last request
    min_span_s: float = 600.0

    @property
    def start_s(self) -> float:
        if self.warmup_end is not None:
            return self.warmup_end
        return self.load_start + min(SETTLE_MAX_S, SETTLE_FRACTION * self.duration_s)


def _fit(
    series: Series,
    source: str,
    times: Sequence[float],
    values: Sequence[float],
    ends: np.ndarray,
    span: Span,
) -> GrowthFit | None:
    """`ends`: when each request was answered, sorted: the requests served by each sample."""
    if not times:
        return None
    t = np.asarray(times, dtype=float)
    return growth_fit(
        series,
        source,
        t,
        np.asarray(values, dtype=float),
        start_s=span.start_s,
        served_at=np.searchsorted(ends, t, side="right").astype(float),
        min_span_s=span.min_span_s,
    )


def remote_rss(metrics: Sequence[MetricSample]) -> tuple[list[float], list[float]]:
    """`process_resident_memory_bytes` per scrape, summed over its labels (one per process)."""
    by_time: dict[float, float] = defaultdict(float)
    for m in metrics:
        if m.name == RSS_METRIC:
            by_time[m.time] += m.value
    times = sorted(by_time)
    return times, [by_time[t] for t in times]


def gpu_series(
    samples: Sequence[GpuSample], pids: Sequence[int]
) -> tuple[str, list[float], list[float]]:
    """The server's own GPU memory where NVML lists its processes, else the fullest device's."""
    if not samples:
        return "", [], []
    if pids and any(p in s.process_mem_bytes for s in samples for p in pids):
        own = [(s.time, sum(s.process_mem_bytes.get(p, 0) for p in pids)) for s in samples]
        by_time: dict[float, float] = defaultdict(float)
        for t, used in own:
            by_time[t] += used
        times = sorted(by_time)
        return "NVML, the server's processes", times, [by_time[t] for t in times]
    fullest = max(samples, key=lambda s: s.mem_used_bytes).index
    chosen = [s for s in samples if s.index == fullest]
    name = f"NVML, GPU {fullest} ({chosen[0].name}) used"
    return name, [s.time for s in chosen], [float(s.mem_used_bytes) for s in chosen]


def stability(run_dir: Path, telemetry: Telemetry, columns: RecordColumns, span: Span) -> Stability:
    """The run's memory and P99 verdicts."""
    end = columns.start_time + columns.latency_s
    ends = np.sort(end)  # once for every series' requests-served count
    server = None
    if telemetry.process:
        pid = telemetry.process[0].pid
        server = _fit(
            "server_rss",
            f"the RSS of process {pid} and its children",
            [s.time for s in telemetry.process],
            [float(s.rss_bytes) for s in telemetry.process],
            ends,
            span,
        )
    else:
        times, values = remote_rss(read_server_metrics(run_dir))
        server = _fit("server_rss", f"{RSS_METRIC} from its /metrics", times, values, ends, span)
    source, times, values = gpu_series(telemetry.gpu, tuple(telemetry.pids))
    gpu = _fit("gpu_memory", source, times, values, ends, span)
    own = read_loadgen_samples(run_dir)
    embload = _fit(
        "embload_rss",
        "the Locust process's RSS (its workers' with it)",
        [s.time for s in own],
        [float(s.rss_bytes) for s in own],
        ends,
        span,
    )
    drift = None
    if len(columns):
        drift = p99_drift(
            end,
            columns.latency_s,
            columns.ok,
            start_s=span.start_s,
            min_span_s=span.min_span_s,
        )
    return Stability(
        server_rss=server,
        gpu_memory=gpu,
        embload_rss=embload,
        p99_drift=drift,
        warmup_end_s=span.start_s,
        method=METHOD,
    )
