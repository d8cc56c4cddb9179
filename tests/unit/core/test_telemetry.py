"""GPU and process aggregation, the memory ceiling, crash/restart and OOM events, on data."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.columns import RecordColumns
from loadtest.core.record import RecordRow
from loadtest.core.telemetry import (
    gpu_summary,
    memory_ceiling_events,
    oom_events,
    process_summary,
    reply_events,
)
from loadtest.core.types import ErrorKind, GpuSample, HealthProbe, OomKind, ProcessSample

GIB = 1 << 30


def gpu(t: float, used_gib: float, util: float | None = 50.0, index: int = 0, **procs: int):
    return GpuSample(
        time=t,
        index=index,
        name="NVIDIA H100 80GB HBM3",
        mem_used_bytes=int(used_gib * GIB),
        mem_total_bytes=80 * GIB,
        gpu_util_pct=util,
        mem_util_pct=10.0,
        power_w=300.0,
        temp_c=50.0,
        sm_clock_mhz=1980.0,
        process_mem_bytes={int(k[1:]): v for k, v in procs.items()},
    )


def test_gpu_summary_idle_peak_util_and_the_servers_share() -> None:
    samples = [
        gpu(0.0, 1.0, util=0.0, p42=GIB // 2),
        gpu(0.9, 1.5, util=0.0, p42=GIB),  # the last reading before the load: idle
        gpu(1.0, 20.0, util=90.0, p42=19 * GIB, p7=GIB),
        gpu(1.1, 30.0, util=100.0, p42=28 * GIB, p7=GIB),
        gpu(1.2, 25.0, util=80.0, p42=24 * GIB),
    ]
    s = gpu_summary(samples, load_start=1.0, server_pids=[42])
    assert s is not None
    assert s.idle_mem_used_bytes == int(1.5 * GIB)
    assert s.peak_mem_used_bytes == 30 * GIB
    assert s.peak_mem_fraction == pytest.approx(30 / 80)
    assert s.mean_util_pct == pytest.approx(90.0)  # over the load only
    assert s.peak_util_pct == 100.0
    assert s.server_peak_mem_bytes == 28 * GIB
    assert s.process_peak_mem_bytes == {"7": GIB, "42": 28 * GIB}
    assert len(s.devices) == 1 and s.samples == 5


def test_the_device_closest_to_running_out_leads() -> None:
    samples = [gpu(0.0, 10.0, index=0), gpu(0.0, 70.0, index=1), gpu(1.0, 12.0, index=0)]
    s = gpu_summary(samples, load_start=0.5)
    assert s is not None and s.index == 1 and [d.index for d in s.devices] == [0, 1]
    assert s.server_peak_mem_bytes is None  # no server PID known
    assert gpu_summary([], load_start=0.0) is None


def test_unsupported_readings_stay_none() -> None:
    s = gpu_summary([gpu(1.0, 5.0, util=None)], load_start=0.0)
    assert s is not None and s.mean_util_pct is None and s.peak_util_pct is None


def test_process_summary() -> None:
    samples = [
        ProcessSample(t, 9, rss, cpu)
        for t, rss, cpu in [(0, 100, 0.0), (1, 300, 150.0), (2, 200, 50.0)]
    ]
    s = process_summary(samples, load_start=0.5)
    assert s is not None and s.model_dump() == {
        "pid": 9,
        "idle_rss_bytes": 100,
        "peak_rss_bytes": 300,
        "mean_cpu_pct": 100.0,
        "peak_cpu_pct": 150.0,
        "samples": 3,
    }
    assert process_summary([], load_start=0.0) is None


def test_memory_ceiling_needs_a_full_second() -> None:
    ticks = [i / 10 for i in range(40)]
    # 96% from 1.0 s to 2.2 s (12 samples, 1.1 s), a 0.5 s blip at 3.0 s
    used = [77.0 if 1.0 <= t <= 2.1 or 3.0 <= t <= 3.5 else 40.0 for t in ticks]
    events = memory_ceiling_events([gpu(t, u) for t, u in zip(ticks, used, strict=True)], 0.95)
    assert len(events) == 1
    assert events[0].kind is OomKind.MEMORY_CEILING and events[0].time == pytest.approx(1.0)
    assert "96.2%" in events[0].evidence and "GPU 0" in events[0].evidence
    assert memory_ceiling_events([gpu(t, 77.0) for t in ticks], threshold=0.97) == []


def rec(
    end: float, status: int, error: ErrorKind | None, latency: float = 0.1, msg: str | None = None
):
    return RecordRow(
        end - latency, latency, status, error, msg, 1, 10, 3, "zh", "short", 0, "local"
    )


def test_a_crash_then_a_restart_seen_by_health() -> None:
    records = [
        rec(1.0, 200, None),
        rec(2.0, 0, ErrorKind.CONNECTION, msg="ConnectionRefusedError: refused"),
        rec(2.1, 200, None, latency=1.5),  # sent before the crash, answered during shutdown
        rec(2.5, 0, ErrorKind.CONNECTION, msg="ConnectionRefusedError: refused"),
        rec(6.0, 200, None),
    ]
    health = [
        HealthProbe(0.5, True, "HTTP 200"),
        HealthProbe(2.2, False, "ConnectError"),
        HealthProbe(5.0, True, "HTTP 200"),
    ]
    events = reply_events(RecordColumns.from_records(records), health)
    assert [(e.kind, e.time) for e in events] == [
        (OomKind.SERVER_CRASH, 2.0),
        (OomKind.SERVER_RESTART, 5.0),
    ]
    assert "after 1 replies" in events[0].evidence and "/health HTTP 200" in events[1].evidence


def test_restart_without_health_is_the_first_reply_after_the_crash() -> None:
    records = [
        rec(1.0, 200, None),
        rec(2.0, 0, ErrorKind.CONNECTION, msg="reset"),
        rec(4.0, 503, ErrorKind.HTTP_5XX),
    ]
    kinds = [(e.kind, e.time) for e in reply_events(RecordColumns.from_records(records))]
    assert kinds == [(OomKind.SERVER_CRASH, 2.0), (OomKind.SERVER_RESTART, 4.0)]


def test_refused_from_the_start_is_no_crash() -> None:
    records = [
        rec(1.0, 0, ErrorKind.CONNECTION, msg="refused"),
        rec(2.0, 0, ErrorKind.CONNECTION, msg="refused"),
    ]
    assert reply_events(RecordColumns.from_records(records)) == []


def test_oom_replies_group_into_bursts() -> None:
    msg = "HTTP 503: out of memory: CUDA out of memory"
    records = [rec(t, 503, ErrorKind.OOM, msg=msg) for t in (1.0, 1.2, 1.9, 5.0)] + [
        rec(3.0, 200, None)
    ]
    events = [
        e
        for e in reply_events(RecordColumns.from_records(records))
        if e.kind is OomKind.OOM_RESPONSE
    ]
    assert [e.time for e in events] == [1.0, 5.0]
    assert events[0].evidence == f"{msg} (3 replies in 0.9 s)"
    assert events[1].evidence == f"{msg} (1 reply)"


def test_oom_events_in_time_order() -> None:
    records = [rec(0.5, 200, None), rec(3.0, 503, ErrorKind.OOM, msg="oom")]
    samples = [gpu(t / 10, 79.0) for t in range(10, 25)]
    events = oom_events(RecordColumns.from_records(records), samples, threshold=0.95)
    assert [e.kind for e in events] == ["memory_ceiling", "oom_response"]


def reference_events(
    records: list[RecordRow], health: list[HealthProbe]
) -> list[tuple[OomKind, float, str]]:
    """The crash and restart rule, a request at a time, as it read before it became array work:
    the oracle for the arrays on a run too long to check by hand."""
    events, crashed_at, answered = [], None, 0
    ups = sorted((p for p in health if p.up), key=lambda p: p.time)
    for r in sorted(records, key=lambda r: r.start_time + r.latency_s):
        end = r.start_time + r.latency_s
        if r.status != 0:
            if crashed_at is not None and r.start_time > crashed_at:
                probe = next((p for p in ups if p.time > crashed_at), None)
                when = probe.time if probe is not None and probe.time <= end else end
                events.append((OomKind.SERVER_RESTART, when, ""))
                crashed_at = None
            answered += 1
        elif r.error is ErrorKind.CONNECTION and answered and crashed_at is None:
            crashed_at = end
            events.append((OomKind.SERVER_CRASH, end, f"{r.error_message}, after {answered:,}"))
    if crashed_at is not None and any(p.time > crashed_at for p in ups):
        events.append(
            (OomKind.SERVER_RESTART, next(p.time for p in ups if p.time > crashed_at), "")
        )
    return sorted(events, key=lambda e: e[1])


def test_a_flapping_server_over_a_long_run_matches_the_rule_a_request_at_a_time() -> None:
    # 200,000 requests (the scan goes 65,536 at a time) through three crashes: connections
    # refused in [40, 45) s, [90, 90.5) s and from 180 s on; late replies of requests sent
    # before each crash; health up again at 46 s and never after the last crash.
    rng = np.random.default_rng(7)
    n = 200_000
    start = np.sort(rng.uniform(0, 200, n))
    latency = 0.002 + rng.exponential(0.05, n)
    down = ((start >= 40) & (start < 45)) | ((start >= 90) & (start < 90.5)) | (start >= 180)
    latency[(rng.random(n) < 0.001) & ~down] = 8.0  # sent before a crash, answered in it
    latency[down] = 0.001  # refused at once
    end = start + latency
    records = [
        rec(float(end[i]), 0, ErrorKind.CONNECTION, float(latency[i]), f"refused {i}")
        if down[i]
        else rec(float(end[i]), 200, None, float(latency[i]))
        for i in range(n)
    ]
    health = [HealthProbe(39.0, True, "HTTP 200"), HealthProbe(46.0, True, "HTTP 200")]
    got = reply_events(RecordColumns.from_records(records), health)
    want = reference_events(records, health)
    assert [(e.kind, e.time) for e in got] == [(k, t) for k, t, _ in want]
    kinds = [k for k, _, _ in want]
    assert kinds.count(OomKind.SERVER_CRASH) == 3 and kinds.count(OomKind.SERVER_RESTART) == 2
    for event, (_, _, evidence) in zip(got, want, strict=True):
        assert event.evidence.startswith(evidence)
