"""NVML reading against a stand-in NVML (and the real one where a GPU exists), device selection,
and the gpu-agent serving its readings to the monitor's collector over loopback."""

from __future__ import annotations

import time
from typing import Any

import pytest

from loadtest.core.errors import GpuUnavailable
from loadtest.telemetry.agent import AgentReader, GpuAgent
from loadtest.telemetry.nvml import NvmlReader, selected_devices
from tests.support.gpu import GIB, FakeNvml


def test_reads_every_field_and_tolerates_unsupported_ones() -> None:
    nvml = FakeNvml()
    reader = NvmlReader(None, nvml=nvml)
    first, second = reader.read(123.0)
    assert (first.time, first.index, first.name) == (123.0, 0, "NVIDIA H100 80GB HBM3")
    assert (first.mem_used_bytes, first.mem_total_bytes) == (10 * GIB, 80 * GIB)
    assert (first.gpu_util_pct, first.mem_util_pct) == (97.0, 41.0)
    assert (first.power_w, first.temp_c, first.sm_clock_mhz) == (612.5, 64.0, 1980.0)
    assert first.process_mem_bytes == {4242: 9 * GIB}
    assert second.index == 1 and second.power_w is None
    reader.close()
    assert nvml.shutdowns == 1


def test_selected_devices_by_index_or_uuid() -> None:
    reader = NvmlReader(["GPU-b"], nvml=FakeNvml())
    assert [s.index for s in reader.read(0.0)] == [1]
    with pytest.raises(GpuUnavailable, match="index 5 does not exist"):
        NvmlReader(["5"], nvml=FakeNvml())
    with pytest.raises(GpuUnavailable, match="could not open"):
        NvmlReader(["GPU-zzz"], nvml=FakeNvml())


def test_no_driver_or_no_device_is_one_reason() -> None:
    with pytest.raises(GpuUnavailable, match=r"no NVIDIA driver.*Driver Not Loaded"):
        NvmlReader(None, nvml=FakeNvml(fail_init=True))
    with pytest.raises(GpuUnavailable, match="no GPU"):
        NvmlReader(None, nvml=FakeNvml(count=0))


@pytest.mark.parametrize(
    ("gpu_index", "cuda_visible", "expected"),
    [
        (None, None, None),
        (None, "1,0", ["1", "0"]),
        ("2", "0,1", ["2"]),  # --gpu-index wins
        (None, "GPU-8f3c,GPU-11aa", ["GPU-8f3c", "GPU-11aa"]),
    ],
)
def test_device_selection(
    gpu_index: str | None, cuda_visible: str | None, expected: object
) -> None:
    assert selected_devices(gpu_index, cuda_visible) == expected


@pytest.mark.parametrize("cuda_visible", ["", "-1"])
def test_cuda_visible_devices_hiding_every_gpu(cuda_visible: str) -> None:
    with pytest.raises(GpuUnavailable, match="CUDA_VISIBLE_DEVICES selects no device"):
        selected_devices(None, cuda_visible)


def test_agent_serves_readings_to_the_collector() -> None:
    nvml = FakeNvml()
    agent = GpuAgent(NvmlReader(None, nvml=nvml), "127.0.0.1", 0, interval_s=0.02)
    agent.start()
    try:
        source = AgentReader(f"http://127.0.0.1:{agent.port}")
        assert source.names == ["NVIDIA H100 80GB HBM3"] * 2
        deadline = time.monotonic() + 5
        got: list[Any] = []
        while len(got) < 4 and time.monotonic() < deadline:
            got += source.read()
            time.sleep(0.05)
        nvml.used[0] = 33 * GIB
        time.sleep(0.1)
        later = source.read()
    finally:
        agent.stop()
    assert {s.index for s in got} == {0, 1}
    assert got[0].process_mem_bytes == {4242: 9 * GIB}  # pids survive the JSON round trip
    assert later and all(s.time > max(g.time for g in got) for s in later)  # only new readings
    assert any(s.mem_used_bytes == 33 * GIB for s in later)


def test_collector_without_an_agent_is_one_reason() -> None:
    with pytest.raises(GpuUnavailable, match=r"no gpu-agent answers at http://127\.0\.0\.1:9"):
        AgentReader("http://127.0.0.1:9")


@pytest.mark.gpu
def test_real_nvml_reads_the_gpus() -> None:
    reader = NvmlReader()
    samples = reader.read(time.time())
    reader.close()
    assert samples and all(0 < s.mem_used_bytes <= s.mem_total_bytes for s in samples)
    assert all(s.name for s in samples)
