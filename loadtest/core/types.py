"""The records every other module passes around: the kinds of error a request can end in, one
GPU or server-process sample, one health probe, one out-of-memory event (a request's own record
is core/record.py's).

Units are in the names: seconds, bytes and counts here; ms and MiB appear only in reports.
Every `time` / `start_time` is wall clock (Unix seconds), so all files of a run line up.
A sample's JSON form (gpu.jsonl, process.jsonl, health.jsonl, and what `embload gpu-agent`
serves) is the dataclass's own, through `to_json` / `from_json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import TypeAdapter


class ErrorKind(StrEnum):
    """Why a request did not count as a success. `None` on a record means it succeeded."""

    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    OOM = "oom"  # the server said it ran out of memory; counted here, not under http_5xx
    RATE_LIMITED = "rate_limited"  # 429
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, closed before a reply
    INVALID_RESPONSE = "invalid_response"  # not JSON, wrong shape, wrong count of vectors
    INVALID_VECTOR = "invalid_vector"  # NaN, Inf, wrong or inconsistent dimension


@dataclass(frozen=True, slots=True)
class Payload:
    """One corpus item: a text with its category and length bucket."""

    text: str
    category: str
    bucket: str


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One reading of one GPU. Fields NVML cannot give on a device are None."""

    time: float
    index: int  # NVML's device index
    name: str
    mem_used_bytes: int
    mem_total_bytes: int
    gpu_util_pct: float | None
    mem_util_pct: float | None  # memory-controller busy time, not capacity
    power_w: float | None
    temp_c: float | None
    sm_clock_mhz: float | None
    process_mem_bytes: dict[int, int]  # pid -> GPU memory, for the processes NVML lists


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """One reading of the server's process tree (psutil): memory and CPU of the process and its
    descendants summed, for CPU-only servers too."""

    time: float
    pid: int  # the server's own process, the tree's root
    rss_bytes: int
    cpu_pct: float  # percent of one core since the previous sample; 200 = two cores busy


@dataclass(frozen=True, slots=True)
class HealthProbe:
    """A change in what the server's /health says: up (2xx) or not, and why."""

    time: float
    up: bool
    detail: str  # "HTTP 200", "HTTP 503", "ConnectError: ..."


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One sample of the server's own Prometheus metrics, as scraped (server_metrics.jsonl)."""

    time: float
    name: str
    labels: dict[str, str]
    value: float


# The server's queue and batch gauges the report draws, by server: TEI, vLLM, sglang, bundled.
QUEUE_GAUGES: tuple[str, ...] = (
    "te_queue_size",
    "te_batch_current_size",
    "vllm:num_requests_waiting",
    "vllm:num_requests_running",
    "sglang:num_queue_reqs",
    "sglang:num_running_reqs",
    "embload_server_queue_size",
)


class OomKind(StrEnum):
    OOM_RESPONSE = "oom_response"  # a reply that says the server ran out of memory
    SERVER_CRASH = "server_crash"  # connection refused/reset after the server had answered
    SERVER_RESTART = "server_restart"  # it answers again after a crash
    MEMORY_CEILING = "memory_ceiling"  # GPU memory at or above the threshold for 1 s or more


@dataclass(frozen=True, slots=True)
class OomEvent:
    time: float
    kind: OomKind
    evidence: str  # what showed it, in words a person can check against the files


Sample = TypeVar("Sample", "GpuSample", "ProcessSample", "HealthProbe", "MetricSample")


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    if cls not in _ADAPTERS:  # built on first use: a few ms each, not at every import
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def to_json(sample: GpuSample | ProcessSample | HealthProbe) -> dict[str, Any]:
    """A sample as a JSON-ready dict (GPU process ids become string keys)."""
    row: dict[str, Any] = _adapter(type(sample)).dump_python(sample, mode="json")
    return row


def from_json(cls: type[Sample], row: object) -> Sample:
    """A sample of `cls` from its JSON form; ValueError when the row is not one."""
    sample: Sample = _adapter(cls).validate_python(row)
    return sample
