"""GPU readings: through NVML on this machine, or from `embload gpu-agent` on another.

The only module that imports pynvml (the `nvidia-ml-py` distribution), and only inside
`NvmlReader`, so importing this module needs no GPU library. NVML calls block; they run in
the monitor process or the agent, never in a gevent load generator. The agent's server
(`GpuAgent`), its client (`AgentReader`) and its wire format (each sample's JSON form,
core/types.to_json) are all here.

Device selection: `--gpu-index` (indices or UUIDs, comma-separated) wins, then
`CUDA_VISIBLE_DEVICES`, else every device. NVML numbers devices in PCI bus order; CUDA does too
only with `CUDA_DEVICE_ORDER=PCI_BUS_ID`, so UUIDs are the unambiguous way to pick one.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from loadtest.core.types import GpuSample, from_json, to_json

_AGENT_KEEP_S = 600.0  # how far back the agent can answer
_AGENT_LOOKBACK_S = 5.0  # the agent's readings just before the test: the idle baseline


class GpuUnavailable(Exception):
    """No GPU telemetry: no driver, no device, or no NVML binding; the message says which."""


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


class _Recent:
    """The agent's last `_AGENT_KEEP_S` of samples, as JSON-ready dicts, shared by threads."""

    def __init__(self, interval_s: float) -> None:
        self._lock = threading.Lock()
        self._rows: deque[dict[str, Any]] = deque(maxlen=int(_AGENT_KEEP_S / interval_s) * 8)

    def add(self, samples: list[GpuSample]) -> None:
        with self._lock:
            self._rows.extend(to_json(s) for s in samples)

    def since(self, t: float) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._rows if r["time"] > t]


class GpuAgent:
    """`embload gpu-agent`: reads the GPUs every `interval_s` and serves the readings.

    `GET /samples?since=T` answers {"now": T', "samples": [...]} with the readings taken after
    wall-clock time T; `GET /health` answers the devices it reads.
    """

    def __init__(self, reader: NvmlReader, host: str, port: int, interval_s: float) -> None:
        self._reader, self._interval_s = reader, interval_s
        self._recent = _Recent(interval_s)
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._threads = [
            threading.Thread(target=self._sample_loop, name="gpu-sampler", daemon=True),
            threading.Thread(target=self._server.serve_forever, name="gpu-agent", daemon=True),
        ]

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait(self) -> None:
        """Until stop(), or Ctrl-C in the foreground."""
        while not self._stop.wait(0.5):
            pass

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _sample_loop(self) -> None:
        while not self._stop.is_set():
            self._recent.add(self._reader.read(time.time()))
            self._stop.wait(self._interval_s)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recent, names = self._recent, self._reader.names

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                url = urlsplit(self.path)
                if url.path == "/health":
                    self._send(200, {"status": "ok", "devices": names})
                elif url.path == "/samples":
                    try:
                        since = float(parse_qs(url.query).get("since", ["0"])[0])
                    except ValueError:
                        self._send(400, {"error": "since must be a Unix time in seconds"})
                        return
                    self._send(200, {"now": time.time(), "samples": recent.since(since)})
                else:
                    self._send(404, {"error": "GET /samples?since=T or /health"})

            def _send(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: a line per poll would drown the agent's own output."""

        return Handler


class AgentReader:
    """Readings from a remote `embload gpu-agent`, fetched over HTTP: no GPU library here."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._since = time.time() - _AGENT_LOOKBACK_S
        try:
            health = httpx.get(self._url + "/health", timeout=5.0).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GpuUnavailable(f"no gpu-agent answers at {self._url} ({exc})") from None
        self.names = [str(n) for n in health.get("devices", [])]

    def read(self) -> list[GpuSample]:
        """The readings taken since the last call."""
        try:
            doc = httpx.get(self._url + "/samples", params={"since": self._since}, timeout=5.0)
            samples = [from_json(GpuSample, row) for row in doc.json()["samples"]]
        except (httpx.HTTPError, ValueError, KeyError):
            return []  # a missed poll; the next one asks from the same point
        if samples:
            self._since = max(s.time for s in samples)
        return samples
