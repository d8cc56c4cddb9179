"""Every `embload` command: resolve its settings, call one function, show what came back.

Errors become their line and exit code in cli/app.py's `exits`; what a command's result makes
of the exit code is core/outcome.py's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from loadtest.cli.app import Config, app, exits, settings, signals_stop_the_load, with_options
from loadtest.config.commands import (
    CompareSettings,
    ExportSettings,
    GpuAgentSettings,
    HistorySettings,
    ProbeSettings,
    QualitySettings,
    SweepSettings,
    TraceFromRunSettings,
    TraceSynthSettings,
)
from loadtest.config.settings import RunSettings, ServeSettings, SoakSettings
from loadtest.core.errors import UsageError

RunDir = Annotated[Path, typer.Argument(help="A run directory (reports/<time>-<scenario>/)")]


def _serve(s: RunSettings | SweepSettings, config: Path | None) -> ServeSettings | None:
    """[serve] on the command's --serve-port, when the command is to start the bundled server."""
    return settings(ServeSettings, {"port": s.serve_port}, config) if s.serve else None


@app.command()
@with_options(RunSettings)
def run(config: Config = None, **flags: Any) -> None:
    """Run shipped scenarios against a target with Locust and print exact latency figures."""
    from loadtest.core.outcome import run_outcome
    from loadtest.driver.runner import run as run_scenarios
    from loadtest.output import present

    with exits():
        s = settings(RunSettings, flags, config)
        with signals_stop_the_load():
            results = run_scenarios(s, _serve(s, config), Console())
        done = [(r.run_dir, r.summary) for r in results]
        present.runs(Console(), done)
        if outcome := run_outcome(done):
            raise outcome


@app.command()
@with_options(SoakSettings)
def soak(
    url: Annotated[str | None, typer.Argument(help="the target's base URL (or --target)")] = None,
    config: Config = None,
    **flags: Any,
) -> None:
    """A long run with verdicts: does the server's memory or P99 grow (warm-up, checkpoints)."""
    from loadtest.core.outcome import run_outcome
    from loadtest.driver.runner import run as run_scenarios
    from loadtest.output import present

    with exits():
        s = settings(SoakSettings, {**flags, "target": url or flags.get("target")}, config)
        with signals_stop_the_load():
            results = run_scenarios(s, _serve(s, config), Console())
        done = [(r.run_dir, r.summary) for r in results]
        present.soak(Console(), done)
        if outcome := run_outcome(done):
            raise outcome


@app.command()
@with_options(SweepSettings)
def sweep(config: Config = None, **flags: Any) -> None:
    """Step or search the load (rate, users, batch size) to find the most within an SLO."""
    from loadtest.core.outcome import sweep_outcome
    from loadtest.driver.sweep import run_sweep
    from loadtest.output import present
    from loadtest.store.files import SWEEP

    with exits():
        s = settings(SweepSettings, flags, config)
        with signals_stop_the_load():
            where, result = run_sweep(s, _serve(s, config), Console())
        present.sweep(Console(), where, result, where / SWEEP)
        if outcome := sweep_outcome(result):
            raise outcome


@app.command()
@with_options(ServeSettings)
def serve(config: Config = None, **flags: Any) -> None:
    """Serve embeddings over OpenAI /v1/embeddings from the bundled reference server."""
    with exits():
        s = settings(ServeSettings, flags, config)
        if not s.random_weights:
            from loadtest.server.presets import PRESETS, ModelNotFound, weights_dir

            try:  # before binding the port: no weights is one line and exit 2, not a 503 server
                weights_dir(PRESETS[s.model], s.model_path)
            except ModelNotFound as exc:  # the server's own: it shares no code with embload's
                raise UsageError(str(exc)) from None
    from loadtest.server.app import serve as serve_forever

    Console(stderr=True).print(
        f"embload serve: {s.model} on http://{s.host}:{s.port}/v1 "
        "(GET /health is 200 once the model is loaded)",
        highlight=False,
    )
    serve_forever(s)


@app.command()
@with_options(CompareSettings)
def compare(
    candidates: Annotated[
        list[str],
        typer.Argument(
            help="2 to 8 target names (qwen, bge, embload.toml's) or saved run dirs; the first "
            "is the baseline unless --baseline names another"
        ),
    ],
    config: Config = None,
    **flags: Any,
) -> None:
    """Compare candidates on the same workload (or saved runs): a decision table of speed,
    memory, cost, capacity within an SLO and retrieval quality, each against the baseline."""
    from loadtest.core.outcome import compare_outcome
    from loadtest.driver.compare import compare_anything, write_comparison
    from loadtest.output import present

    with exits():
        s = settings(CompareSettings, flags, config)
        with signals_stop_the_load():
            where, result = compare_anything(s, candidates, config, Console())
        present.compare(Console(), where, result, write_comparison(where, result))
        if outcome := compare_outcome(result, s.fail_on_regression):
            raise outcome


@app.command("history")
@with_options(HistorySettings)
def history_command(config: Config = None, **flags: Any) -> None:
    """Runs over time (P50, P99, QPS, errors) with a trend per target and scenario; a run
    significantly worse than the previous comparable one is flagged a regression."""
    from loadtest.analysis.trend import history
    from loadtest.output import present
    from loadtest.store.history import history_path

    with exits():
        s = settings(HistorySettings, flags, config)
        db = history_path(s.reports, s.history)
        if db is None:
            raise UsageError("the run history is off (--history off); give it a path")
        present.history(Console(), db, history(s, db), s.json_out)


@app.command("probe")
@with_options(ProbeSettings)
def probe_command(
    target: Annotated[str, typer.Argument(help="A target name (qwen, bge, embload.toml's) or URL")],
    config: Config = None,
    **flags: Any,
) -> None:
    """Check the vectors: related vs unrelated pairs by category, and consistency under load."""
    from loadtest.driver.compare import probe_named
    from loadtest.output import present
    from loadtest.store.files import PROBE

    with exits():
        s = settings(ProbeSettings, flags, config)
        where, result = probe_named(target, s.model, config, s.out)
        present.probe(Console(), target, result, where / PROBE)


@app.command("quality")
@with_options(QualitySettings)
def quality_command(
    target: Annotated[str, typer.Argument(help="A target name (qwen, bge, embload.toml's) or URL")],
    config: Config = None,
    **flags: Any,
) -> None:
    """Measure retrieval quality on the bundled zh/en/ja/code set: P@5, R@10, nDCG@10, MRR."""
    from loadtest.driver.quality import quality_named
    from loadtest.output.terminal import quality_table
    from loadtest.store.files import QUALITY

    with exits():
        s = settings(QualitySettings, flags, config)
        where, result = quality_named(target, s.model, config, s.out)
        Console().print(quality_table({target: result}))
        Console().print(f"quality: {where / QUALITY}", highlight=False)


@app.command()
def report(run_dir: RunDir) -> None:
    """Render RUN_DIR/report.html again from the run's saved files."""
    from loadtest.output.html import write_report

    with exits():
        try:
            print(write_report(run_dir))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot render {run_dir}: {type(exc).__name__}: {exc}") from None


@app.command("export")
@with_options(ExportSettings)
def export_command(run_dir: RunDir, config: Config = None, **flags: Any) -> None:
    """Write a run's records as CSV, Parquet or JSONL, for pandas, polars or DuckDB."""
    from loadtest.store.export import export

    with exits():
        s = settings(ExportSettings, flags, config)
        try:
            path, count = export(run_dir, s.format, s.out)
        except OSError as exc:
            raise UsageError(f"cannot export {run_dir}: {exc}") from None
    Console(stderr=True).print(f"{count:,} records", highlight=False)
    print(path)


@app.command()
def schema(
    document: Annotated[str, typer.Argument(help="summary, compare, quality or records")],
) -> None:
    """Print the JSON Schema of summary.json, compare.json, quality.json or one record
    (records.jsonl, the columns of records.parquet and of the CSV export), for validating what
    you read."""
    from loadtest.core.comparisons import Comparison
    from loadtest.core.quality import QualityResult
    from loadtest.core.record import records_json_schema
    from loadtest.core.results import RunSummary

    schemas = {
        "summary": RunSummary.model_json_schema,
        "compare": Comparison.model_json_schema,
        "quality": QualityResult.model_json_schema,
        "records": records_json_schema,
    }
    with exits():
        if document not in schemas:
            raise UsageError(f"unknown document {document!r}; pick {', '.join(schemas)}")
    print(json.dumps(schemas[document](), indent=2))


@app.command("gpu-agent")
@with_options(GpuAgentSettings)
def gpu_agent_command(config: Config = None, **flags: Any) -> None:
    """Serve this machine's GPU samples over HTTP for `embload run --gpu-agent URL`."""
    from loadtest.telemetry.agent import serve_agent

    def ready(line: str) -> None:
        Console(stderr=True).print(line, highlight=False)

    with exits():
        s = settings(GpuAgentSettings, flags, config)
        serve_agent(s.host, s.port, s.interval_s, s.gpu_index, ready)


trace_app = typer.Typer(
    help="Trace files: a request a line, at its time (docs/traces.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(trace_app, name="trace")
TraceFile = Annotated[Path, typer.Argument(help="A trace: .jsonl or .csv (.gz too)")]


@trace_app.command("synth")
@with_options(TraceSynthSettings)
def trace_synth(config: Config = None, **flags: Any) -> None:
    """Write a trace of a shape of load: constant, poisson, gamma, ramp, spikes or daily."""
    from loadtest.driver.traces import synth
    from loadtest.output.trace_view import written_lines

    with exits():
        info = synth(settings(TraceSynthSettings, flags, config))
    for line in written_lines(info):
        Console().print(line, highlight=False, soft_wrap=True)


@trace_app.command("show")
def trace_show(path: TraceFile) -> None:
    """A trace's requests, rate over time, burstiness, inputs and lengths."""
    from loadtest.driver.traces import show
    from loadtest.output.trace_view import print_trace

    with exits():
        stats = show(path)
    print_trace(Console(), stats, str(path))


@trace_app.command("from-run")
@with_options(TraceFromRunSettings)
def trace_from_run(run_dir: RunDir, config: Config = None, **flags: Any) -> None:
    """Write a past run's traffic as a trace, to replay it against another stack."""
    from loadtest.driver.traces import from_run
    from loadtest.output.trace_view import written_lines

    with exits():
        s = settings(TraceFromRunSettings, flags, config)
        info, run_trace = from_run(run_dir, s.out)
    for line in written_lines(info, run_trace):
        Console().print(line, highlight=False, soft_wrap=True)
