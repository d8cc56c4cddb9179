"""What a run produces, as typed models: summary.json is their JSON, and `embload schema summary`
prints its JSON Schema for users' dashboards (a comparison's are core/comparisons.py).

Each metric is defined once, in METRICS, and every figure of that name means exactly that:
in a run's summary, per category, per length bucket, and on each side of a comparison. Units
are in the names: seconds and bytes, with `latency_ms` the one block in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loadtest.core.model import Model
from loadtest.core.stability import Stability
from loadtest.core.types import ErrorKind, OomEvent

SCHEMA_VERSION: Literal[1] = 1  # raised when a field changes meaning or goes away


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str  # as tables and charts name it
    unit: str
    lower_is_better: bool
    definition: str


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("p50", "P50", "ms", True, "median latency of the successful requests"),
        Metric("p90", "P90", "ms", True, "90th percentile latency of the successful requests"),
        Metric("p99", "P99", "ms", True, "99th percentile latency of the successful requests"),
        Metric(
            "qps",
            "QPS",
            "req/s",
            False,
            "successful requests per second of the load's wall-clock duration",
        ),
        Metric(
            "inputs_per_s",
            "inputs/s",
            "texts/s",
            False,
            "texts embedded by successful requests, per second of the load's duration",
        ),
        Metric(
            "tokens_per_s",
            "tokens/s",
            "tokens/s",
            False,
            "usage.prompt_tokens of successful requests, per second of the load's duration; "
            "null when the server reports no usage",
        ),
        Metric("error_rate", "error rate", "", True, "failed requests over all requests recorded"),
    )
}
LATENCY_DEFINITION = (
    "milliseconds from sending a request to reading its whole reply, over successful requests; "
    "percentiles are numpy's linear interpolation, never Locust's rounded buckets"
)


SignalName = Literal["SIGINT", "SIGTERM"]


def _doc(key: str) -> str:
    return METRICS[key].definition


class LatencyMs(Model):
    p50: float | None = Field(description=_doc("p50"))
    p90: float | None = Field(description=_doc("p90"))
    p99: float | None = Field(description=_doc("p99"))
    p999: float | None = Field(description="99.9th percentile latency of the successful requests")
    max: float | None
    mean: float | None


class Figures(Model):
    """One group of requests: a whole run, one category or bucket, or one side of a compare."""

    requests: int = Field(description="requests recorded, successful or not")
    ok: int = Field(description="successful requests: a 2xx with one finite vector per input")
    errors: dict[ErrorKind, int] = Field(description="failed requests by kind")
    error_rate: float = Field(description=_doc("error_rate"))
    qps: float = Field(description=_doc("qps"))
    inputs_per_s: float = Field(description=_doc("inputs_per_s"))
    tokens_per_s: float | None = Field(description=_doc("tokens_per_s"))
    latency_ms: LatencyMs = Field(description=LATENCY_DEFINITION)


class ServerTimeMs(Model):
    """Where a request's time went by the server's own clock (TEI's x-queue-time,
    x-tokenization-time, x-inference-time and x-total-time headers; the bundled server sends
    them too), over the successful replies that carried them. `rest` is each one's latency
    minus the server's total: the network and the client."""

    requests: int = Field(description="successful replies that carried the headers")
    queue: LatencyMs
    tokenization: LatencyMs
    inference: LatencyMs
    total: LatencyMs
    rest: LatencyMs


class Cost(Model):
    """What the measured rates cost at `usd_per_hour` (--gpu-cost-per-hour): the price of a
    second over what a second served, per million. None where nothing of that kind was served."""

    usd_per_hour: float
    usd_per_1m_tokens: float | None = Field(description="usd_per_hour / 3600 / tokens_per_s x 1e6")
    usd_per_1m_inputs: float | None
    usd_per_1m_requests: float | None


class ModelCard(BaseModel):
    """A model as `GET /v1/models` lists it; servers add fields of their own."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    dimensions: int | None = None
    max_input_tokens: int | None = None
    truncate: bool | None = Field(
        default=None, description="whether the server cuts inputs over max_input_tokens"
    )
    weights: str | None = None  # "random" for speed-only runs of the bundled server
    device: str | None = None
    dtype: str | None = None
    # the bundled server's --quantize (None: as loaded), its weights' memory, its load time
    quantize: str | None = None
    weight_bytes: int | None = None
    load_s: float | None = None


class LoadEnvironment(Model):
    """Where the load came from."""

    python: str
    platform: str
    host: str
    cpus: int | None
    embload: str
    packages: dict[str, str | None]


class Startup(Model):
    """The bundled server's start-up, when embload started it."""

    command: str
    model_loaded_s: float | None
    ready_s: float
    idle_rss_bytes: int | None
    idle_gpu_mem_bytes: int | None
    gpu_unavailable: str | None


class TelemetryStatus(Model):
    """telemetry.json: what the telemetry sidecar could sample, and why not."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    gpu: Literal["nvml", "agent"] | None = None
    devices: list[str] = Field(default_factory=list)
    gpu_agent: str | None = None
    gpu_unavailable: str | None = None
    server_pid: int | None = None
    server_process_unavailable: str | None = None


class GpuDevice(Model):
    index: int
    name: str
    mem_total_bytes: int
    idle_mem_used_bytes: int = Field(description="the last reading before the load started")
    peak_mem_used_bytes: int
    peak_mem_fraction: float | None
    mean_util_pct: float | None = Field(description="over the load")
    peak_util_pct: float | None
    mean_power_w: float | None
    peak_temp_c: float | None
    server_peak_mem_bytes: int | None = Field(description="the server process's own, when known")
    process_peak_mem_bytes: dict[str, int] = Field(description="pid -> peak bytes")
    samples: int


class GpuSummary(GpuDevice):
    """The device closest to running out; every device under `devices`."""

    devices: list[GpuDevice]


class ProcessSummary(Model):
    pid: int
    idle_rss_bytes: int
    peak_rss_bytes: int
    mean_cpu_pct: float | None = Field(description="100 = one core busy")
    peak_cpu_pct: float
    samples: int


class ThresholdVerdict(Model):
    """One `--fail-on` threshold against the run's figure of that name."""

    threshold: str = Field(description="as written, e.g. p99<200ms")
    metric: str
    value: float | None = Field(description="the run's figure: ms, a fraction, or per second")
    limit: float = Field(description="in the same unit as value")
    held: bool = Field(description="false: crossed, the run exits 3")


class LoadFigures(Model):
    """How the load was offered (an open loop's schedule, or a closed loop) and how it went."""

    mode: Literal["open", "closed"] = Field(
        description="open: sent on a schedule fixed in advance; closed: users send back to back"
    )
    offered_rps: float | None = Field(description="the open loop's rate, across the test")
    arrival: Literal["poisson", "constant", "gamma", "trace"] | None
    burstiness: float | None = Field(description="gamma's shape: 1 poisson, below 1 burstier")
    max_in_flight: int | None = Field(description="the open loop's cap on requests in flight")
    due: int | None = Field(description="arrivals whose time came during the test")
    achieved_rps: float = Field(
        description="requests completed, successful or not, per second: of the time arrivals "
        "came (open loop), of the load's duration (closed)"
    )
    late: int = Field(description="requests sent more than 10 ms after their due time")
    dropped: int = Field(
        description="arrivals not sent because max_in_flight requests were already in flight"
    )
    unfinished: int | None = Field(
        None,
        description="arrivals sent (or about to be) with no reply when the test stopped: "
        "due - dropped - requests (Locust ends users at once unless --stop-timeout lets them "
        "finish)",
    )
    send_lag_p50_ms: float | None = Field(description="median delay from due time to send")
    send_lag_p99_ms: float | None
    send_lag_max_ms: float | None


class RunMeta(Model):
    """What ran, where and how: a run's summary.json fields that the load side knows without
    its records (the figures come from those)."""

    scenario: str
    target: str = Field(description="the base URL, without any user:password")
    route: str | None = Field(
        None, description="the embeddings route's URL the load went to (found, if not given)"
    )
    dialect: str = Field("openai", description="the API spoken there: openai, infinity, tei, ...")
    model: str | None
    users: int | None
    inputs_per_request: int
    encoding_format: str
    dimensions: int | None
    seed: int
    corpus: str = Field(description="the corpus file, or 'builtin'")
    instruction: str | None
    extra_headers: list[str] = Field(description="names only: values may be credentials")
    started_at: str = Field(description="ISO 8601, local time with offset")
    started_at_unix: float
    embload_version: str
    server_model: ModelCard | None
    environment: LoadEnvironment
    warnings: list[str] = Field(
        default_factory=list,
        description="what may leave the figures short, e.g. a worker that never sent its last "
        "records",
    )
    history: str | None = Field(
        default=None, description="the run index this run went into (embload history)"
    )
    write_error: str | None = Field(
        default=None,
        description="why records stopped being written (a full disk): the load stopped there",
    )
    interrupted: SignalName | None = Field(
        default=None,
        description="the signal that stopped the load before its time: the figures are of the "
        "part that ran",
    )


class TraceFigures(Model):
    """The trace a run replayed (`--trace`); how faithfully: `load`'s send lag."""

    path: str = Field(description="the trace file as given")
    sha256: str = Field(description="of the file's bytes: the same traffic, to the byte")
    lines: int = Field(description="requests in the trace")
    span_s: float = Field(description="from its first request's time to its last, at speed 1")
    speed: float = Field(description="--trace-speed: its times divided by this")
    replayed: int = Field(description="its requests this run recorded, warm-up's included")


class WarmupFigures(Model):
    """`--warmup`: load before the measured part, recorded (marked `warmup`), left out of every
    figure."""

    asked: str = Field(description="as given: a span (10 s) or a number of requests")
    requests: int = Field(description="requests the warm-up sent (records marked warmup)")
    until_unix: float | None = Field(description="when its last request was sent")


class RunSummary(Figures, RunMeta):
    """summary.json: one scenario run, computed from the run directory's files only."""

    schema_version: Literal[1] = SCHEMA_VERSION
    records_schema_version: int = Field(
        1,
        description="the schema of the run's records files (`embload schema records`): 2 "
        "names the server's clock in four fields, 1 wrote it as one array `server_s`",
    )
    server_time_ms: ServerTimeMs | None = Field(
        None, description="the server's own clock, when its replies carry it"
    )
    cost: Cost | None = Field(None, description="with --gpu-cost-per-hour")
    duration_s: float = Field(description="the load's wall-clock duration: the rates' divisor")
    error_samples: dict[ErrorKind, list[str]] = Field(description="a few messages per kind")
    by_category: dict[str, Figures]
    by_bucket: dict[str, Figures]
    startup: Startup | None
    gpu: GpuSummary | None
    gpu_unavailable: str | None
    server_process: ProcessSummary | None
    oom_threshold: float
    oom_events: list[OomEvent]
    workers: list[str] = Field(
        default_factory=list,
        description="the load-generator processes with records: local, or worker-N of a "
        "distributed run",
    )
    thresholds: list[ThresholdVerdict] = Field(
        default_factory=list, description="each --fail-on threshold and its verdict"
    )
    load: LoadFigures | None = Field(
        default=None, description="open or closed loop, offered against achieved; late, dropped"
    )
    trace: TraceFigures | None = Field(default=None, description="the trace replayed, if any")
    warmup: WarmupFigures | None = Field(
        default=None, description="the warm-up before the measured part, if any"
    )
    stability: Stability | None = Field(
        default=None,
        description="memory growth and P99 drift over the run, fitted after the warm-up, with "
        "verdicts (no verdict from too little data)",
    )
