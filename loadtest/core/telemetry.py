"""From samples and records to summary.json's `gpu`, `server_process` and `oom_events`.

Pure: the monitor process writes gpu.jsonl, process.jsonl and health.jsonl; these functions read
nothing and only compute. "Idle" means the last reading before the load started; utilization
and CPU means are over the load. Memory is in bytes here, MiB only in reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from loadtest.core.columns import RecordColumns
from loadtest.core.results import GpuDevice, GpuSummary, ProcessSummary, Startup
from loadtest.core.types import (
    ErrorKind,
    GpuSample,
    HealthProbe,
    OomEvent,
    OomKind,
    ProcessSample,
)

CEILING_MIN_S = 1.0  # how long memory must stay at the threshold to count
OOM_BURST_GAP_S = 1.0  # OOM replies closer than this together are one event
_GIB = 1 << 30


@dataclass(frozen=True)
class Telemetry:
    """What the sidecar and the bundled server's start-up left in a run directory."""

    oom_threshold: float  # fraction of total GPU memory that counts as the ceiling
    gpu: Sequence[GpuSample] = ()
    process: Sequence[ProcessSample] = ()
    health: Sequence[HealthProbe] = ()
    startup: Startup | None = None
    gpu_unavailable: str | None = "no GPU samples"
    pids: Collection[int] = ()  # the server's processes, for its own share of GPU memory


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _device_summary(
    samples: Sequence[GpuSample], load_start: float, server_pids: Collection[int]
) -> GpuDevice:
    before = [s for s in samples if s.time < load_start]
    during = [s for s in samples if s.time >= load_start] or list(samples)
    util = [s.gpu_util_pct for s in during if s.gpu_util_pct is not None]
    power = [s.power_w for s in during if s.power_w is not None]
    temps = [s.temp_c for s in samples if s.temp_c is not None]
    peak = max(s.mem_used_bytes for s in samples)
    total = samples[-1].mem_total_bytes
    per_process: dict[int, int] = defaultdict(int)
    for s in samples:
        for pid, used in s.process_mem_bytes.items():
            per_process[pid] = max(per_process[pid], used)
    server_peak = (
        max(sum(s.process_mem_bytes.get(pid, 0) for pid in server_pids) for s in samples)
        if server_pids
        else None
    )
    return GpuDevice(
        index=samples[0].index,
        name=samples[0].name,
        mem_total_bytes=total,
        idle_mem_used_bytes=(before[-1] if before else samples[0]).mem_used_bytes,
        peak_mem_used_bytes=peak,
        peak_mem_fraction=peak / total if total else None,
        mean_util_pct=_mean(util),
        peak_util_pct=max(util) if util else None,
        mean_power_w=_mean(power),
        peak_temp_c=max(temps) if temps else None,
        server_peak_mem_bytes=server_peak,
        process_peak_mem_bytes={str(pid): used for pid, used in sorted(per_process.items())},
        samples=len(samples),
    )


def gpu_summary(
    samples: Sequence[GpuSample], *, load_start: float, server_pids: Collection[int] = ()
) -> GpuSummary | None:
    """The device closest to running out, at the top level, and every device under `devices`."""
    if not samples:
        return None
    by_index: dict[int, list[GpuSample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.time):
        by_index[s.index].append(s)
    devices = [_device_summary(by_index[i], load_start, server_pids) for i in sorted(by_index)]
    main = max(devices, key=lambda d: d.peak_mem_fraction or 0.0)
    return GpuSummary(**dict(main), devices=devices)


def process_summary(
    samples: Sequence[ProcessSample], *, load_start: float
) -> ProcessSummary | None:
    """The server process's memory and CPU: idle before the load, peak and mean during it."""
    if not samples:
        return None
    ordered = sorted(samples, key=lambda s: s.time)
    before = [s for s in ordered if s.time < load_start]
    during = [s for s in ordered if s.time >= load_start] or ordered
    return ProcessSummary(
        pid=ordered[0].pid,
        idle_rss_bytes=(before[-1] if before else ordered[0]).rss_bytes,
        peak_rss_bytes=max(s.rss_bytes for s in ordered),
        mean_cpu_pct=_mean([s.cpu_pct for s in during]),
        peak_cpu_pct=max(s.cpu_pct for s in during),
        samples=len(ordered),
    )


def memory_ceiling_events(
    samples: Sequence[GpuSample],
    threshold: float,
    min_duration_s: float = CEILING_MIN_S,
) -> list[OomEvent]:
    """One event per stretch of `min_duration_s` or more with memory at `threshold` of total."""
    by_index: dict[int, list[GpuSample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.time):
        by_index[s.index].append(s)
    events = []
    for index, series in sorted(by_index.items()):
        stretches: list[list[GpuSample]] = [[]]
        for s in series:
            if s.mem_used_bytes >= threshold * s.mem_total_bytes:
                stretches[-1].append(s)
            elif stretches[-1]:
                stretches.append([])
        for run in stretches:
            if run and run[-1].time - run[0].time >= min_duration_s:
                peak = max(x.mem_used_bytes / x.mem_total_bytes for x in run)
                events.append(
                    OomEvent(
                        run[0].time,
                        OomKind.MEMORY_CEILING,
                        f"GPU {index} ({run[0].name}) at or above {threshold:.0%} of "
                        f"{run[0].mem_total_bytes / _GIB:.1f} GiB for "
                        f"{run[-1].time - run[0].time:.1f} s, peak {peak:.1%}",
                    )
                )
    return events


def reply_events(cols: RecordColumns, health: Sequence[HealthProbe] = ()) -> list[OomEvent]:
    """`oom_response` per burst of OOM replies; `server_crash` when connections fail after the
    server had answered; `server_restart` when /health says up, or a reply arrives, again.

    Requests are taken in the order they ended. Array work, not a loop over requests: the loop
    runs once per crash."""
    end = cols.start_time + cols.latency_s
    order = np.argsort(end, kind="stable")
    end.sort(kind="stable")  # in place: end[order] would be 80 MB more at ten million
    events = _oom_bursts(cols, order, end)
    ups = sorted((p for p in health if p.up), key=lambda p: p.time)
    reply = cols.status[order] != 0  # an HTTP reply, whatever its status: the server is up
    conn = cols.kind_codes(ErrorKind.CONNECTION)[order] & ~reply
    after = _first(lambda s: reply[s], 0, end.size)
    while after is not None:
        # only a server that had answered can crash
        i = _first(lambda s: conn[s], after + 1, end.size)
        if i is None:
            break
        crashed_at = float(end[i])
        answered = int(np.count_nonzero(reply[:i]))
        evidence = f"{cols.error_message.at(int(order[i]))}, after {answered:,} replies"
        events.append(OomEvent(crashed_at, OomKind.SERVER_CRASH, evidence))
        # Only a request sent after the crash proves a restart; one sent before may be
        # answered late by a server that is shutting down.

        def sent_after(s: slice, t: float = crashed_at) -> np.ndarray:
            sent: np.ndarray = reply[s] & (cols.start_time[order[s]] > t)
            return sent

        after = _first(sent_after, i + 1, end.size)
        if after is not None:
            status = int(cols.status[order[after]])
            fallback = (float(end[after]), f"HTTP {status}")
            events.append(_restart(crashed_at, ups, fallback=fallback))
        elif any(p.time > crashed_at for p in ups):
            events.append(_restart(crashed_at, ups, fallback=None))
    return sorted(events, key=lambda e: e.time)


def _oom_bursts(cols: RecordColumns, order: np.ndarray, end: np.ndarray) -> list[OomEvent]:
    at = np.flatnonzero(cols.kind_codes(ErrorKind.OOM)[order])
    events = []
    for burst in np.split(at, np.flatnonzero(np.diff(end[at]) > OOM_BURST_GAP_S) + 1):
        if burst.size:
            first, last = float(end[burst[0]]), float(end[burst[-1]])
            size = burst.size
            count = f"{size} replies in {last - first:.1f} s" if size > 1 else "1 reply"
            message = cols.error_message.at(int(order[burst[0]]))
            events.append(OomEvent(first, OomKind.OOM_RESPONSE, f"{message} ({count})"))
    return events


def _first(test: Callable[[slice], np.ndarray], start: int, size: int) -> int | None:
    """The first index from `start` where `test` holds, tested a slice at a time."""
    for at in range(start, size, _SCAN):
        hits = np.flatnonzero(test(slice(at, min(at + _SCAN, size))))
        if hits.size:
            return at + int(hits[0])
    return None


_SCAN = 1 << 16


def _restart(
    crashed_at: float, ups: Sequence[HealthProbe], fallback: tuple[float, str] | None
) -> OomEvent:
    probe = next((p for p in ups if p.time > crashed_at), None)
    if probe is not None and (fallback is None or probe.time <= fallback[0]):
        when, how = probe.time, f"/health {probe.detail}"
    else:
        assert fallback is not None
        when, how = fallback[0], f"a reply ({fallback[1]})"
    return OomEvent(
        when, OomKind.SERVER_RESTART, f"{how} {when - crashed_at:.1f} s after the crash"
    )


def oom_events(
    cols: RecordColumns,
    gpu: Sequence[GpuSample] = (),
    health: Sequence[HealthProbe] = (),
    *,
    threshold: float,
) -> list[OomEvent]:
    """summary.json's `oom_events`, in time order."""
    found = reply_events(cols, health) + memory_ceiling_events(gpu, threshold)
    return sorted(found, key=lambda e: e.time)
