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

import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    field_serializer,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def parse_duration(value: object) -> object:
    """`30s`, `2m`, `1h30m` or plain seconds (as Locust's -t takes them) to seconds."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text)
    if not text or not parts or not any(parts.groups()):
        raise ValueError(f"{value!r} is not a duration like 30s, 2m or 1h30m")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + s


def _percent(value: object) -> object:
    """`10%` or `0.1` to 0.1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _json_object(value: object) -> object:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]


def option(
    default: Any,
    help: str,
    *,
    name: str | None = None,
    text: bool = False,
    secret: bool = False,
    **constraints: Any,
) -> Any:
    """A field that is an option. `name`: what flags, variables and embload.toml call it, where
    the attribute carries a unit (`timeout_s` is `timeout`). `text`: typed on the command line
    as text the model parses (30s, 10%, a,b). `secret`: never written, masked in Locust's UI."""
    return Field(
        default,
        description=help,
        validation_alias=AliasChoices(name) if name else None,
        json_schema_extra={"text": text, "secret": secret},
        **constraints,
    )


def history() -> Any:
    return option(
        None, "the run index (SQLite): a path, or off (default: <reports>/history.sqlite)"
    )


def duration(help: str) -> Any:
    """A length of time, typed as 30s, 2m or 1h30m; 30 s unless set."""
    return option("30s", help, name="duration", text=True, gt=0, validate_default=True)


def _processes(value: object) -> object:
    if value in (0, "0"):
        raise ValueError("0 processes: leave --processes out for one, or give N or -1")
    return value


def processes() -> Any:
    """Locust's own --processes: a master and N worker processes on this machine."""
    return option(
        None,
        "load-generator processes: a Locust master and N workers here, -1 one per core "
        "(default: one process)",
        ge=-1,
    )


Processes = Annotated[int | None, BeforeValidator(_processes)]


class Options(BaseSettings):
    """Options of one command; TABLE is its embload.toml table, TRANSFER its hand-over variable."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        env_prefix_target="all",  # EMBLOAD_TIMEOUT, not EMBLOAD_TIMEOUT_S nor TIMEOUT
    )
    TABLE: ClassVar[str]
    TRANSFER: ClassVar[str | None] = None
    # The class whose options make up TABLE, where this one takes only some of them: a Locust
    # process (LoadSettings) reads [run] and leaves `duration` and `scenario` to `embload run`.
    TABLE_OWNER: ClassVar[type[Options] | None] = None

    def transfer_json(self) -> str:
        """The settings for a child process, secrets included: only ever for its environment."""
        return self.model_dump_json(context={"reveal": True})

    @field_serializer("*", mode="wrap")
    def _hide_secrets(self, value: Any, nxt: Any, info: Any) -> Any:
        if isinstance(value, SecretStr) and (info.context or {}).get("reveal"):
            return value.get_secret_value()
        return nxt(value)


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
    headers: Annotated[dict[str, str], BeforeValidator(_json_object)] = option(
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

    @model_validator(mode="after")
    def _burstiness_is_gammas(self) -> LoadSettings:
        if self.burstiness != 1.0 and self.arrival != "gamma":
            raise ValueError("burstiness shapes gamma arrivals: add --arrival gamma")
        return self


def target() -> Any:
    return option(
        None, "OpenAI-style base URL, e.g. http://127.0.0.1:30000/v1 (or http://host:port)"
    )


def max_in_flight() -> Any:
    return option(
        512,
        "open loop: requests in flight at most (Locust's users); an arrival that finds them "
        "all busy is dropped and counted",
        ge=1,
    )


def serve() -> Any:
    return option(False, "start the bundled server on loopback ([serve] configures it)")


def serve_port() -> Any:
    return option(30000, "port for --serve", ge=1, le=65535)


def _numbers(value: object) -> object:
    """`10,20,40` to a list; a number alone to a list of one."""
    if isinstance(value, int | float):
        return [value]
    return _comma_list(value)


Rates = Annotated[list[Annotated[float, Field(gt=0)]], NoDecode, BeforeValidator(_numbers)]
Counts = Annotated[list[Annotated[int, Field(ge=1)]], NoDecode, BeforeValidator(_numbers)]


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
        if self.rate_rps is not None and self.users is not None:
            raise ValueError(
                "--users sizes a closed loop; an open loop (--rate) takes --max-in-flight"
            )
        return self


LoadSettings.TABLE_OWNER = RunSettings


class SweepSettings(LoadSettings):
    """`embload sweep`: a run's options, stepped or searched over rate, users or batch size;
    embload.toml's [sweep]."""

    TABLE = "sweep"
    TRANSFER = None
    TABLE_OWNER = None

    target: str | None = target()
    scenario: str = option("single", "the scenario each step runs: single | medium | peak")
    duration_s: Duration = duration("how long each step runs: 30s, 2m")
    rates: Rates = option([], "open-loop steps, req/s: 10,20,40", text=True)
    users: Counts = option([], "closed-loop steps, users: 1,4,16,64", text=True)
    batch: Counts = option(  # type: ignore[assignment]  # a run's one size, a sweep's several
        [], "batch-size steps, texts per request: 1,4,16,64,256 (at --fixed-users)", text=True
    )
    fixed_users: int | None = option(
        None, "users for a batch sweep (default: the scenario's)", ge=1
    )
    slo: str | None = option(
        None,
        "search the highest rate within this, e.g. 'p99<100ms,error_rate<0.1%' (with --rates: "
        "mark the steps within it)",
        text=True,
    )
    precision: Annotated[float, BeforeValidator(_percent)] = option(
        0.1, "the search stops when its bracket is this narrow: 10%", text=True, gt=0
    )
    max_steps: int = option(12, "runs a search makes at most", ge=2)
    knee_factor: float = option(
        3.0, "the knee: where P99 passes this many times its low-load value", gt=1
    )
    max_in_flight: int = max_in_flight()
    processes: Processes = processes()
    serve: bool = serve()
    serve_port: int = serve_port()

    @model_validator(mode="after")
    def _one_dimension(self) -> SweepSettings:
        swept = [n for n in ("rates", "users", "batch") if getattr(self, n)]
        if len(swept) > 1:
            raise ValueError(f"a sweep steps one of --rates, --users, --batch; got {swept}")
        if self.slo and swept and swept != ["rates"]:
            raise ValueError("--slo searches rates: leave out --users and --batch")
        if self.rate_rps is not None and (self.slo or swept not in ([], ["batch"])):
            raise ValueError("--rate fixes a batch sweep's load; a rate sweep takes --rates")
        return self


class CompareSettings(Options):
    """`embload compare`: embload.toml's [compare], EMBLOAD_COMPARE_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_COMPARE_")
    TABLE = "compare"

    scenarios: CommaList = option(
        ["single", "medium", "peak"], "comma-separated: single,medium,peak", text=True
    )
    duration_s: Duration = duration("how long each scenario runs per target: 30s, 2m")
    users: int | None = option(None, "users (default: each scenario's)", ge=1)
    processes: Processes = processes()
    seed: int = option(0, "seed for payloads and the bootstrap")
    serve: bool = option(False, "start each target's bundled server in turn, on its url's port")
    random_weights: bool = option(False, "with --serve: qwen and bge with random weights")
    probe: bool = option(True, "run the quality probe on each target after its runs")
    targets: CommaList = option(
        [], "NAME=URL: defines or overrides a target (repeatable)", name="target"
    )
    out: Path | None = option(None, "directory (default: reports/compare-<time>/)")
    history: str | None = history()
    fail_on_regression: Annotated[float | None, BeforeValidator(_percent)] = option(
        None, "e.g. 10%: exit 1 when B is significantly worse by more than this", text=True, ge=0
    )


class HistorySettings(Options):
    """`embload history`: embload.toml's [history], EMBLOAD_HISTORY_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_HISTORY_")
    TABLE = "history"

    target: str | None = option(None, "only runs of this target (its base URL, or a part of it)")
    scenario: str | None = option(None, "only runs of this scenario")
    json_out: bool = option(False, "print JSON instead of tables", name="json")
    rebuild: bool = option(False, "index every run, compare and sweep under --reports first")
    reports: Path = option(Path("reports"), "where the runs are")
    history: str | None = history()
    regression_threshold: Annotated[float, BeforeValidator(_percent)] = option(
        0.05,
        "a run is a regression when significantly worse than the previous comparable run by "
        "more than this (5%: P50, P90 and P99 5% slower, rates 5% lower, 5 points of errors)",
        text=True,
        ge=0,
    )
    seed: int = option(0, "seed for the bootstrap")


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
