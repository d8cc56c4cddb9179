"""GPU and process aggregation, the memory ceiling, crash/restart and OOM events, on data."""

from __future__ import annotations

import pytest

from loadtest.core.columns import RecordColumns
from loadtest.core.telemetry import (
    gpu_summary,
    memory_ceiling_events,
    oom_events,
    process_summary,
    reply_events,
)
from loadtest.core.types import (
    ErrorKind,
    GpuSample,
    HealthProbe,
    OomKind,
    ProcessSample,
    RequestRecord,
)

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
    return RequestRecord(
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
