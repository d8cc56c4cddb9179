"""NVML here or not: why this machine has no GPU, and a stand-in pynvml for two devices."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from loadtest.core.errors import GpuUnavailable
from loadtest.telemetry.nvml import NvmlReader

GIB = 1 << 30


@functools.cache
def no_gpu_reason() -> str | None:
    """Why this machine has no GPU for NVML to read; None where it has one."""
    try:
        NvmlReader().close()
    except GpuUnavailable as exc:
        return str(exc)
    return None


class FakeNvml:
    """The slice of pynvml that NvmlReader calls, for two devices; device 1 has no power sensor."""

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1

    class NVMLError(Exception):
        pass

    def __init__(self, count: int = 2, fail_init: bool = False) -> None:
        self.count, self.fail_init, self.shutdowns = count, fail_init, 0
        self.used = [10 * GIB, 70 * GIB]

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> int:
        if uuid != "GPU-b":
            raise self.NVMLError("Not Found")
        return 1

    def nvmlDeviceGetIndex(self, h: int) -> int:
        return h

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"  # older pynvml returns bytes

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return SimpleNamespace(total=80 * GIB, used=self.used[h], free=80 * GIB - self.used[h])

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        return SimpleNamespace(gpu=97, memory=41)

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        if h == 1:
            raise self.NVMLError("Not Supported")
        return 612_500  # mW

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        return 64

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> int:
        return 1980

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[Any]:
        return [
            SimpleNamespace(pid=4242, usedGpuMemory=9 * GIB),
            SimpleNamespace(pid=77, usedGpuMemory=None),  # hidden by the driver
        ]
