"""GPU readings through NVML on this machine: the only module that imports pynvml (the
`nvidia-ml-py` distribution), and only inside `NvmlReader`, so importing it needs no GPU
library. NVML calls block; they run in the monitor process or the agent, never in a gevent
load generator.

Device selection: `--gpu-index` (indices or UUIDs, comma-separated) wins, then
`CUDA_VISIBLE_DEVICES`, else every device. NVML numbers devices in PCI bus order; CUDA does too
only with `CUDA_DEVICE_ORDER=PCI_BUS_ID`, so UUIDs are the unambiguous way to pick one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loadtest.core.errors import GpuUnavailable
from loadtest.core.types import GpuSample


def selected_devices(gpu_index: str | None, cuda_visible: str | None) -> list[str] | None:
    """The devices to read, as NVML indices or UUIDs; None means every device."""
    spec = gpu_index if gpu_index else cuda_visible
    if spec is None:
        return None
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    if not devices or devices == ["-1"]:
        source = "--gpu-index" if gpu_index else "CUDA_VISIBLE_DEVICES"
        raise GpuUnavailable(f"{source} selects no device ({spec!r})")
    return devices


class NvmlReader:
    """Reads the selected devices. `nvml` is the pynvml module, or a stand-in in tests."""

    def __init__(self, devices: list[str] | None = None, nvml: Any = None) -> None:
        if nvml is None:
            try:
                import pynvml
            except ImportError:
                raise GpuUnavailable("the nvidia-ml-py package is not installed") from None
            nvml = pynvml
        self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise GpuUnavailable(f"no NVIDIA driver reachable through NVML ({exc})") from None
        try:
            count = nvml.nvmlDeviceGetCount()
            if count == 0:
                raise GpuUnavailable("NVML sees no GPU")
            wanted = devices if devices is not None else [str(i) for i in range(count)]
            self._handles = [self._handle(d, count) for d in wanted]
            self._indices = [nvml.nvmlDeviceGetIndex(h) for h in self._handles]
            self.names = [_text(nvml.nvmlDeviceGetName(h)) for h in self._handles]
        except nvml.NVMLError as exc:
            nvml.nvmlShutdown()
            raise GpuUnavailable(f"NVML could not open the devices ({exc})") from None
        except GpuUnavailable:
            nvml.nvmlShutdown()
            raise

    def _handle(self, device: str, count: int) -> Any:
        if device.isdigit():
            if int(device) >= count:
                raise GpuUnavailable(f"GPU index {device} does not exist ({count} GPUs)")
            return self._nvml.nvmlDeviceGetHandleByIndex(int(device))
        return self._nvml.nvmlDeviceGetHandleByUUID(device)

    def _optional(self, read: Callable[..., Any], *args: Any) -> Any:
        """A reading some devices do not support (power on some boards): None then."""
        try:
            return read(*args)
        except self._nvml.NVMLError:
            return None

    def read(self, now: float) -> list[GpuSample]:
        nvml, samples = self._nvml, []
        for handle, index, name in zip(self._handles, self._indices, self.names, strict=True):
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            util = self._optional(nvml.nvmlDeviceGetUtilizationRates, handle)
            power_mw = self._optional(nvml.nvmlDeviceGetPowerUsage, handle)
            temp = self._optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
            clock = self._optional(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM)
            procs = self._optional(nvml.nvmlDeviceGetComputeRunningProcesses, handle) or []
            samples.append(
                GpuSample(
                    time=now,
                    index=index,
                    name=name,
                    mem_used_bytes=int(mem.used),
                    mem_total_bytes=int(mem.total),
                    gpu_util_pct=float(util.gpu) if util is not None else None,
                    mem_util_pct=float(util.memory) if util is not None else None,
                    power_w=power_mw / 1000 if power_mw is not None else None,
                    temp_c=float(temp) if temp is not None else None,
                    sm_clock_mhz=float(clock) if clock is not None else None,
                    # usedGpuMemory is None where the driver hides it (some containers, WDDM)
                    process_mem_bytes={
                        int(p.pid): int(p.usedGpuMemory) for p in procs if p.usedGpuMemory
                    },
                )
            )
        return samples

    def close(self) -> None:
        self._nvml.nvmlShutdown()


def _text(name: str | bytes) -> str:
    return name.decode() if isinstance(name, bytes) else name
