"""The options of the commands that start no Locust process of their own: sweep (whose steps
are runs), compare, history, probe, export and gpu-agent. Each class is a command's flags,
its EMBLOAD_<COMMAND>_* variables and its embload.toml table, declared once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, model_validator
from pydantic_settings import SettingsConfigDict

from loadtest.config.base import (
    CommaList,
    Counts,
    Duration,
    Options,
    Processes,
    Rates,
    WarmupText,
    duration,
    history,
    max_in_flight,
    option,
    percent,
    processes,
    serve,
    serve_port,
    target,
    warmup_option,
)
from loadtest.config.settings import LoadSettings


class SweepSettings(LoadSettings):
    """`embload sweep`: a run's options, stepped or searched over rate, users or batch size;
    embload.toml's [sweep]."""

    TABLE = "sweep"
    TRANSFER = None
    TABLE_OWNER = None

    target: str | None = target()
    scenario: str = option("single", "the scenario each step runs: single | medium | peak")
    warmup: WarmupText = warmup_option("each step")
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
    precision: Annotated[float, BeforeValidator(percent)] = option(
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
    warmup: WarmupText = warmup_option("each candidate's every run")
    users: int | None = option(None, "users (default: each scenario's)", ge=1)
    processes: Processes = processes()
    seed: int = option(0, "seed for payloads and the bootstrap")
    serve: bool = option(
        False, "start each target that says how (a serve table or a command) in turn"
    )
    random_weights: bool = option(False, "with --serve: qwen and bge with random weights")
    baseline: str | None = option(None, "the candidate the others are judged against (first)")
    slo: str | None = option(
        None,
        "search each candidate's highest rate within this, e.g. 'p99<100ms,error_rate<0.1%'",
        text=True,
    )
    slo_scenario: str | None = option(
        None, "the scenario the capacity search runs (default: the last of --scenarios)"
    )
    slo_step_s: Duration = option(
        "10s",
        "how long each step of the capacity search runs",
        name="slo_step",
        text=True,
        gt=0,
        validate_default=True,
    )
    slo_precision: Annotated[float, BeforeValidator(percent)] = option(
        0.1, "each capacity search stops when its bracket is this narrow: 10%", text=True, gt=0
    )
    probe: bool = option(True, "run the quality probe on each target after its runs")
    quality: bool = option(True, "run the retrieval evaluation on each target after its runs")
    targets: CommaList = option(
        [], "NAME=URL: defines or overrides a target (repeatable)", name="target"
    )
    out: Path | None = option(None, "directory (default: reports/compare-<time>/)")
    history: str | None = history()
    fail_on_regression: Annotated[float | None, BeforeValidator(percent)] = option(
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
    regression_threshold: Annotated[float, BeforeValidator(percent)] = option(
        0.05,
        "a run is a regression when significantly worse than the previous comparable run by "
        "more than this (5%: P50, P90 and P99 5% slower, rates 5% lower, 5 points of errors)",
        text=True,
        ge=0,
    )
    seed: int = option(0, "seed for the bootstrap")


class ProbeSettings(Options):
    """`embload probe`: embload.toml's [probe], EMBLOAD_PROBE_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_PROBE_")
    TABLE = "probe"

    model: str | None = option(None, "model name to send (default: the target's, else the first)")
    out: Path | None = option(None, "directory (default: reports/probe-<time>/)")


class QualitySettings(Options):
    """`embload quality`: embload.toml's [quality], EMBLOAD_QUALITY_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_QUALITY_")
    TABLE = "quality"

    model: str | None = option(None, "model name to send (default: the target's, else the first)")
    out: Path | None = option(None, "directory (default: reports/quality-<time>/)")


class ExportSettings(Options):
    """`embload export`: embload.toml's [export], EMBLOAD_EXPORT_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_EXPORT_")
    TABLE = "export"

    format: Literal["csv", "parquet", "jsonl"] = option("csv", "csv | parquet | jsonl")
    out: Path | None = option(None, "file to write (default: RUN_DIR/records.export.<format>)")


class GpuAgentSettings(Options):
    """`embload gpu-agent`: embload.toml's [gpu_agent], EMBLOAD_GPU_AGENT_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_GPU_AGENT_")
    TABLE = "gpu_agent"

    host: str = option("127.0.0.1", "address to bind (0.0.0.0 to serve other machines)")
    port: int = option(9400, "port to bind", ge=1, le=65535)
    interval_s: float = option(
        LoadSettings.model_fields["gpu_interval_s"].default,
        "seconds between samples (a run's --gpu-interval)",
        name="interval",
        ge=0.01,
    )
    gpu_index: str | None = option(
        None, "GPUs to read: indices or UUIDs (default: CUDA_VISIBLE_DEVICES, else all)"
    )


TraceShape = Literal["constant", "poisson", "gamma", "ramp", "spikes", "daily"]


class TraceSynthSettings(Options):
    """`embload trace synth`: embload.toml's [trace_synth], EMBLOAD_TRACE_SYNTH_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_TRACE_SYNTH_")
    TABLE = "trace_synth"

    shape: TraceShape = option(
        "poisson", "constant | poisson | gamma | ramp | spikes | daily (docs/traces.md)"
    )
    rate_rps: float = option(
        10.0,
        "requests per second: a ramp's start, the base between spikes, daily's peak",
        name="rate",
        gt=0,
    )
    rate_to_rps: float | None = option(None, "ramp: the rate it ends at", name="rate_to", ge=0)
    burstiness: float = option(1.0, "gamma: the gaps' shape; 1 poisson, below 1 burstier", gt=0)
    spike_x: float = option(5.0, "spikes: a spike's rate, times --rate", ge=1)
    spike_every_s: Duration = option(
        "60s",
        "spikes: one every this long",
        name="spike_every",
        text=True,
        gt=0,
        validate_default=True,
    )
    spike_s: Duration = option(
        "5s", "spikes: each this long", text=True, gt=0, validate_default=True
    )
    duration_s: Duration = duration("the trace's span: 30s, 10m, 1h")
    scenario: str = option("peak", "whose requests: single | medium | peak (inputs, lengths)")
    inputs: Counts = option(
        [],
        "texts per request, drawn evenly from these: 1,4,16 (default: the scenario's)",
        text=True,
    )
    seed: int = option(0, "seed for the times and the sizes")
    out: Path | None = option(None, "the trace to write: .jsonl or .csv (.gz too)")

    @model_validator(mode="after")
    def _each_shape_its_options(self) -> TraceSynthSettings:
        if self.shape == "ramp" and self.rate_to_rps is None:
            raise ValueError("a ramp goes from --rate to --rate-to: give --rate-to")
        if self.shape != "ramp" and self.rate_to_rps is not None:
            raise ValueError("--rate-to is where a ramp ends: add --shape ramp")
        if self.burstiness != 1.0 and self.shape != "gamma":
            raise ValueError("burstiness shapes gamma gaps: add --shape gamma")
        if self.shape == "spikes" and self.spike_s >= self.spike_every_s:
            raise ValueError("--spike-s is each spike's length: less than --spike-every")
        if self.out is None:
            raise ValueError("give --out FILE: the trace to write (.jsonl or .csv)")
        return self


class TraceFromRunSettings(Options):
    """`embload trace from-run`: embload.toml's [trace_from_run], EMBLOAD_TRACE_FROM_RUN_*."""

    model_config = SettingsConfigDict(env_prefix="EMBLOAD_TRACE_FROM_RUN_")
    TABLE = "trace_from_run"

    out: Path | None = option(None, "the trace to write (default: RUN_DIR/trace.jsonl)")
