"""Every option of `embload run`, `compare` and `serve`, declared once.

A field of these models is an option: type, default, unit (in the attribute's name, `timeout_s`)
and help. From each come the command's flag (`--timeout`), Locust's `--embload-timeout` (listed
in its web UI), the variable `EMBLOAD_TIMEOUT` and the key `timeout` of embload.toml's `[run]`
table; the server's options are `[serve]` and `EMBLOAD_SERVER_*`, compare's `[compare]` and
`EMBLOAD_COMPARE_*`. options.py turns these declarations into flags and resolves their layers:
flags > environment > embload.toml > defaults.

A process that starts another (`embload run` starts Locust, `--serve` starts `embload serve`)
hands the resolved settings over as one JSON value in the child's environment
(EMBLOAD_SETTINGS, EMBLOAD_SERVER_SETTINGS): the environment, since it may hold an API key and
argv is visible to every user of the machine.

A leaf module: pydantic only, so the bundled server can share it without the load side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from loadtest.config.base import (
    Duration,
    Options,
    Processes,
    WarmupText,
    duration,
    history,
    json_object,
    max_in_flight,
    option,
    processes,
    serve,
    serve_port,
    target,
)


class LoadSettings(Options):
    """One Locust test: `--embload-*`, EMBLOAD_*, and embload.toml's [run]."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_")
    TABLE = "run"
    TRANSFER: ClassVar[str | None] = "EMBLOAD_SETTINGS"

    model: str | None = option(None, "model name to send (default: the first of /v1/models)")
    dialect: Literal["openai", "infinity", "tei", "ollama", "cohere"] | None = option(
        None,
        "the API to speak (default: from the target's route; a bare http://h:p is asked)",
    )
    corpus: Path | None = option(None, "texts to send: .jsonl (text, category) or .txt")
    seed: int = option(0, "seed for payload sampling: the same seed sends the same texts")
    encoding_format: Literal["base64", "float"] = option(
        # base64 is what the openai SDK asks for, so servers do the work most clients cause
        "base64",
        "base64 (what the openai SDK asks for) or float",
    )
    dimensions: int | None = option(None, "dimensions to ask for (default: the model's)", ge=1)
    timeout_s: float = option(
        60.0, "seconds before a request counts as a timeout", name="timeout", gt=0
    )
    api_key: SecretStr | None = option(None, "bearer token: sent, never written", secret=True)
    headers: Annotated[dict[str, str], BeforeValidator(json_object)] = option(
        {}, "extra HTTP headers, a JSON object: sent, values never written", secret=True
    )
    instruction: str | None = option(
        None, "send texts as 'Instruct: {this}\\nQuery:{text}' (Qwen3 queries)"
    )
    server_metrics: str | None = option(
        None,
        "the server's Prometheus metrics URL, scraped every second into server_metrics.jsonl "
        "(default: the target's /metrics when it answers; off: none)",
    )
    gpu_cost_per_hour: float | None = option(
        None, "the serving hardware's price, USD per hour: summary cost per 1M tokens", ge=0
    )
    out: Path | None = option(None, "run directory (default: a new one under --reports)")
    reports: Path = option(Path("reports"), "where new run directories go")
    history: str | None = history()
    push_gateway: str | None = option(
        None, "a Prometheus Pushgateway URL: each run's summary is pushed there (job embload)"
    )
    gpu_interval_s: float = option(
        0.1, "seconds between GPU and server-process samples", name="gpu_interval", ge=0.01
    )
    gpu_index: str | None = option(
        None, "GPUs to sample: indices or UUIDs (default: CUDA_VISIBLE_DEVICES, else all)"
    )
    gpu_agent: str | None = option(None, "URL of an `embload gpu-agent` beside a remote server")
    server_pid: int | None = option(None, "PID of a local server: its RSS and CPU", ge=1)
    oom_threshold: float = option(
        0.95, "GPU memory fraction that counts as the ceiling", gt=0, le=1
    )
    health_path: str = option("/health", "route polled for crashes and restarts ('' for none)")
    keep_vectors: int = option(0, "vectors of this many replies kept for the probe", ge=0)
    fail_on: str | None = option(
        None,
        "thresholds, e.g. 'p99<200ms,error_rate<0.1%,qps>100': exit 3 naming each one crossed",
        text=True,
    )
    batch: int | None = option(None, "texts per request (default: the scenario's)", ge=1)
    rate_rps: float | None = option(
        None,
        "open loop: requests per second across the test, on a schedule drawn from --seed; "
        "latency counts from each request's due time; in plain Locust, -u users are the most "
        "in flight (default: a closed loop)",
        name="rate",
        gt=0,
    )
    arrival: Literal["poisson", "constant", "gamma"] = option(
        "poisson", "open loop's gaps between arrivals: poisson | constant | gamma"
    )
    burstiness: float = option(
        1.0, "gamma arrivals' shape: 1 is poisson, below 1 burstier, above 1 more even", gt=0
    )

    trace: Path | None = option(
        None,
        "replay a trace (.jsonl or .csv, a request a line, at its time): an open loop whose "
        "times, texts and sizes come from the file (docs/traces.md)",
    )
    trace_speed: float = option(1.0, "a trace's clock sped up: 2 replays it in half its span", gt=0)
    warmup: WarmupText = option(
        "0",
        "load before the measured part, recorded and marked, left out of every figure: a span "
        "(10s) or a number of requests (200); 0 for none",
        text=True,
        validate_default=True,
    )

    stability_min_span_s: Duration = option(
        "10m",
        "the least span after warm-up that a memory-growth or P99-drift verdict is given from",
        name="stability_min_span",
        text=True,
        gt=0,
        validate_default=True,
    )

    checkpoint_every_s: Duration | None = option(
        None,
        "write summary.json and report.html every so often while the run goes on (5m), so an "
        "interrupted or crashed run keeps its figures (default: at the end only)",
        name="checkpoint_every",
        text=True,
        gt=0,
    )

    @model_validator(mode="after")
    def _burstiness_is_gammas(self) -> LoadSettings:
        if self.burstiness != 1.0 and self.arrival != "gamma":
            raise ValueError("burstiness shapes gamma arrivals: add --arrival gamma")
        if self.trace is not None and self.rate_rps is not None:
            raise ValueError("a trace sets its own times: leave out --rate")
        if self.trace_speed != 1.0 and self.trace is None:
            raise ValueError("--trace-speed speeds up a trace: add --trace FILE")
        return self


class RunSettings(LoadSettings):
    """`embload run`: one test's options and which scenarios, how long, against what."""

    target: str | None = target()
    scenario: str = option("peak", "single | medium | peak | all")
    duration_s: Duration = duration("how long each scenario runs: 30s, 2m, 1h30m")
    users: int | None = option(None, "concurrent users (default: the scenario's)", ge=1)
    max_in_flight: int = max_in_flight()
    processes: Processes = processes()
    serve: bool = serve()
    serve_port: int = serve_port()

    @model_validator(mode="after")
    def _users_are_the_closed_loops(self) -> RunSettings:
        if (self.rate_rps is not None or self.trace is not None) and self.users is not None:
            raise ValueError(
                "--users sizes a closed loop; an open loop (--rate, --trace) takes --max-in-flight"
            )
        return self


LoadSettings.TABLE_OWNER = RunSettings


class SoakSettings(RunSettings):
    """`embload soak`: a long run's preset: an hour, a warm-up, checkpoints every five minutes,
    stability verdicts; embload.toml's [soak], EMBLOAD_SOAK_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_SOAK_")
    TABLE = "soak"
    TRANSFER = None
    TABLE_OWNER = None

    duration_s: Duration = option(
        "1h",
        "how long the soak runs: 1h, 8h",
        name="duration",
        text=True,
        gt=0,
        validate_default=True,
    )
    warmup: WarmupText = option(
        "1m",
        "load before the measured part, left out of every figure and fit: a span or a number "
        "of requests; 0 for none",
        text=True,
        validate_default=True,
    )
    checkpoint_every_s: Duration | None = option(
        "5m",
        "summary.json and report.html written again this often, so an interrupted or crashed "
        "soak keeps its figures",
        name="checkpoint_every",
        text=True,
        gt=0,
        validate_default=True,
    )


class ServeSettings(Options):
    """`embload serve`: embload.toml's [serve], EMBLOAD_SERVER_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_SERVER_")
    TABLE = "serve"
    TRANSFER = "EMBLOAD_SERVER_SETTINGS"

    model: Literal["minilm", "qwen", "bge"] = option("minilm", "minilm | qwen | bge")
    host: str = option("127.0.0.1", "address to bind")
    port: int = option(30000, "port to bind", ge=1, le=65535)
    device: Literal["cpu", "cuda"] | None = option(None, "cpu | cuda (default: cuda if present)")
    model_path: Path | None = option(None, "weights directory (default: the Hugging Face cache)")
    random_weights: bool = option(False, "the published architecture, random weights: speed only")
    dtype: Literal["bf16", "fp16", "fp32"] | None = option(
        None, "bf16 | fp16 | fp32 (default: bf16 on CUDA, fp32 on CPU)"
    )
    quantize: Literal["none", "int8", "fp8"] = option(
        "none", "none | int8 | fp8: quantize the linear layers (torchao; fp8 needs CUDA)"
    )
    max_input_tokens: int | None = option(None, "longest input in tokens (default: model's)", ge=1)
    instruction: str | None = option(None, "qwen: the task for queries that send none")
    truncate: bool | None = option(
        None,
        "cut inputs over the limit instead of 400 (default: minilm cuts, as "
        "sentence-transformers does; qwen and bge refuse)",
    )
    max_batch_size: int = option(64, "texts per forward pass at most", ge=1)
    max_batch_tokens: int = option(16384, "padded tokens per pass at most", ge=1)
    gather_ms: float = option(2.0, "wait for requests still arriving, ms", ge=0)
    max_queue: int = option(4096, "queued texts before 429", ge=1)
    max_queue_wait_s: float = option(
        10.0,
        "seconds of work the queue may hold, at the best recent pass rate, before 429 (0: off)",
        name="max_queue_wait",
        ge=0,
    )
    max_body_bytes: int = option(8 << 20, "request body limit in bytes (413 above)", ge=1)
    api_key: SecretStr | None = option(
        None,
        "bearer token(s) clients must send to /v1, comma-separated; /health and /metrics stay open",
        secret=True,
    )
    client_timeout_s: float = option(
        10.0,
        "seconds a client has to send a request's headers, and again its body (then 408)",
        name="client_timeout",
        gt=0,
    )

    @model_validator(mode="after")
    def _real_weights_for_minilm(self) -> ServeSettings:
        if self.random_weights and self.model == "minilm":
            raise ValueError("minilm ships its real weights; random_weights is for qwen and bge")
        return self

    @model_validator(mode="after")
    def _fp8_on_cuda(self) -> ServeSettings:
        # device None (CUDA when present) is the server's to check, once torch can tell
        if self.quantize == "fp8" and self.device == "cpu":
            raise ValueError("quantize fp8 needs a CUDA device; on the CPU use int8")
        return self
