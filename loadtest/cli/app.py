"""The `embload` command: each command resolves its settings, calls one function, prints.

Its options are settings.py's: every flag of run, serve and compare is generated from the
option declared there (type, default, help), and resolved with EMBLOAD_* variables and
embload.toml (flags > environment > embload.toml > defaults). Heavy imports (torch, locust,
the server, numpy) happen inside the commands that need them, so `embload --help` is instant.
User errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.console import Console

from loadtest import __version__
from loadtest.options import OptionSpec, SettingsError, env_var, options, resolve
from loadtest.settings import (
    CompareSettings,
    HistorySettings,
    LoadSettings,
    Options,
    RunSettings,
    ServeSettings,
    SweepSettings,
)
from loadtest.stopping import STOP, Interrupted

app = typer.Typer(
    help="Load-test and profile text-embedding endpoints (OpenAI /v1/embeddings).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold brackets and backslashes, not markup
)
F = TypeVar("F", bound=Callable[..., Any])
Config = Annotated[
    Path | None,
    typer.Option(help="embload.toml to read (default: $EMBLOAD_CONFIG, else ./embload.toml)"),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """A command that runs load (run, sweep, compare): SIGINT and SIGTERM stop it as stopping.py
    says, and what could not run is one line, exit 2."""
    from loadtest.runner import RunError

    try:
        with STOP.installed():
            yield
    except RunError as exc:
        raise _fail(str(exc)) from None
    except Interrupted as exc:
        raise _stopped(exc) from None


def _stopped(exc: Interrupted) -> typer.Exit:
    """SIGINT or SIGTERM: one line, and the exit code a shell gives a process a signal ended."""
    Console(stderr=True).print(f"[yellow]{exc.line()}[/yellow]", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return ",".join(value) if isinstance(value, list) else f"{value}"


def _parameter(cls: type[Options], spec: OptionSpec) -> inspect.Parameter:
    default = "" if spec.default in (None, [], {}) else f"default {_shown(spec.default)}; "
    help_text = f"{spec.help} ({default}{env_var(cls, spec)})"
    decls = [f"{spec.flag}/--no-{spec.flag[2:]}"] if spec.kind is bool else [spec.flag]
    kind: Any = list[str] if spec.kind is list else spec.kind
    option = typer.Option(*decls, help=help_text, show_default=False)
    annotation = cast(Any, Annotated)[kind | None, option]  # built at run time, from the spec
    return inspect.Parameter(spec.field, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)


def _with_options(cls: type[Options]) -> Callable[[F], F]:
    """Give a command one flag per option of `cls`; they arrive in its **flags (None: unset)."""

    def wrap(command: F) -> F:
        # typer reads Annotated extras (help texts) from the signature: resolve them here.
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(command).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        # The command's own options first (target, scenario...), those it shares after.
        specs = sorted(options(cls), key=lambda spec: spec.field not in cls.__annotations__)
        generated = [_parameter(cls, spec).replace(default=None) for spec in specs]
        command.__signature__ = inspect.Signature([*own, *generated])  # type: ignore[attr-defined]
        return command

    return wrap


def _settings(cls: type[Options], flags: dict[str, Any], config: Path | None) -> Any:
    try:
        return resolve(cls, flags, config)
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _serve_settings(
    settings: RunSettings | SweepSettings, config: Path | None
) -> ServeSettings | None:
    """[serve] on the command's --serve-port, when the command is to start the bundled server."""
    if not settings.serve:
        return None
    serve: ServeSettings = _settings(ServeSettings, {"port": settings.serve_port}, config)
    return serve


def _version(value: bool) -> None:
    if value:
        print(f"embload {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """embload: latency, throughput and correctness of embedding endpoints under load."""


@app.command()
@_with_options(RunSettings)
def run(config: Config = None, **flags: Any) -> None:
    """Run shipped scenarios against a target with Locust and print exact latency figures."""
    from loadtest.report.terminal import print_summary
    from loadtest.runner import run as run_scenarios

    settings: RunSettings = _settings(RunSettings, flags, config)
    serve = _serve_settings(settings, config)
    console = Console()
    with _stoppable():
        results = run_scenarios(settings, serve, console)
    failed = 0
    for result in results:
        print_summary(console, result.summary, str(result.run_dir))
        failed += result.summary.requests - result.summary.ok
        if (result.run_dir / "report.html").exists():
            console.print(f"report: {result.run_dir / 'report.html'}", highlight=False)
    full = next((r for r in results if r.summary.write_error), None)
    if full is not None:
        raise _fail(
            f"{full.summary.write_error}: the load stopped there; what was written is kept "
            f"in {full.run_dir}",
            code=2,
        )
    cut = next((r for r in results if r.summary.interrupted), None)
    if cut is not None and STOP.signum is not None:
        raise _stopped(Interrupted(STOP.signum, cut.run_dir))
    crashes = [e for r in results for e in r.summary.oom_events if e.kind == "server_crash"]
    if crashes:
        raise _fail(
            f"the server stopped answering during the run ({crashes[0].evidence}); "
            f"{failed:,} requests failed, every one is in records.jsonl of its run",
            code=1,
        )
    verdicts = [v for r in results for v in r.summary.thresholds]
    crossed = [v for v in verdicts if not v.held]
    if crossed:
        from loadtest.core.thresholds import crossed_line

        raise _fail("threshold crossed: " + "; ".join(crossed_line(v) for v in crossed), code=3)
    # an error-rate threshold that held is the user's tolerance for failed requests
    tolerated = any(v.metric == "error_rate" for v in verdicts)
    if failed and not tolerated:
        raise _fail(f"{failed:,} requests failed; every one is in records.jsonl of its run", code=1)


@app.command()
@_with_options(SweepSettings)
def sweep(config: Config = None, **flags: Any) -> None:
    """Step or search the load (rate, users, batch size) to find the most within an SLO."""
    from loadtest.core.thresholds import crossed_line
    from loadtest.report.sweep_html import write_sweep_html
    from loadtest.report.terminal import sweep_lines, sweep_table
    from loadtest.sweep import SWEEP_JSON, run_sweep

    settings: SweepSettings = _settings(SweepSettings, flags, config)
    serve = _serve_settings(settings, config)
    console = Console()
    with _stoppable():
        where, result = run_sweep(settings, serve, console)
    html = write_sweep_html(where, result)
    console.print(sweep_table(result))
    for line in sweep_lines(result):
        console.print(line, highlight=False)
    console.print(f"sweep: {where / SWEEP_JSON} · {html}", highlight=False)
    crossed = [v for v in result.thresholds if not v.held]
    if crossed:
        raise _fail("threshold crossed: " + "; ".join(crossed_line(v) for v in crossed), code=3)


@app.command()
@_with_options(ServeSettings)
def serve(config: Config = None, **flags: Any) -> None:
    """Serve embeddings over OpenAI /v1/embeddings from the bundled reference server."""
    settings: ServeSettings = _settings(ServeSettings, flags, config)
    if not settings.random_weights:
        from loadtest.server.presets import PRESETS, ModelNotFound, weights_dir

        try:  # before binding the port: no weights is one line and exit 2, not a 503 server
            weights_dir(PRESETS[settings.model], settings.model_path)
        except ModelNotFound as exc:
            raise _fail(str(exc)) from None
    from loadtest.server.app import serve as serve_forever

    Console(stderr=True).print(
        f"embload serve: {settings.model} on http://{settings.host}:{settings.port}/v1 "
        "(GET /health is 200 once the model is loaded)",
        highlight=False,
    )
    serve_forever(settings)


@app.command()
@_with_options(CompareSettings)
def compare(
    a: Annotated[str, typer.Argument(help="Target name (qwen, bge, embload.toml's) or a run dir")],
    b: Annotated[str, typer.Argument(help="The other target, or run dir")],
    config: Config = None,
    **flags: Any,
) -> None:
    """Compare two targets on the same workload (or two saved runs): verdicts with 95% intervals."""
    from loadtest.comparison import compare_anything, write_comparison
    from loadtest.core.compare import regressions
    from loadtest.report.compare_html import write_compare_html
    from loadtest.report.terminal import compare_table, probe_table

    settings: CompareSettings = _settings(CompareSettings, flags, config)
    console = Console()
    with _stoppable():
        where, result = compare_anything(settings, (a, b), config, console)
    write_comparison(where, result)
    html = write_compare_html(where, result)
    for entry in result.scenarios:
        console.print(compare_table(result.a, result.b, entry))
    if result.probe:
        console.print(probe_table(result.probes_by_name()))
    console.print(f"comparison: {where / 'compare.json'} · {html}", highlight=False)
    threshold = settings.fail_on_regression
    if threshold is not None:
        worse = regressions(result.scenarios, threshold)
        if worse:
            raise _fail(f"{result.b} regressed beyond {threshold:.0%}: " + "; ".join(worse), 1)


@app.command("history")
@_with_options(HistorySettings)
def history_command(config: Config = None, **flags: Any) -> None:
    """Runs over time (P50, P99, QPS, errors) with a trend per target and scenario; a run
    significantly worse than the previous comparable one is flagged a regression."""
    from dataclasses import asdict

    from loadtest.history import HistoryError, history_path
    from loadtest.report.terminal import history_table, regression_lines, trend_lines
    from loadtest.trend import history

    settings: HistorySettings = _settings(HistorySettings, flags, config)
    db = history_path(settings.reports, settings.history)
    if db is None:
        raise _fail("the run history is off (--history off); give it a path")
    try:
        found = history(settings, db)
    except HistoryError as exc:
        raise _fail(str(exc)) from None
    if settings.json_out:
        doc = {
            "history": str(db),
            "runs": [asdict(e) for e in found.entries],
            "trends": [asdict(t) for t in found.trends],
        }
        print(json.dumps(doc, indent=2))
        return
    console = Console()
    if found.indexed is not None:
        console.print(f"indexed {found.indexed:,} runs, compares and sweeps into {db}")
    console.print(history_table(found.entries))
    for line in [*regression_lines(found.entries), *trend_lines(found.trends)]:
        console.print(line, highlight=False)


@app.command("probe")
def probe_command(
    target: Annotated[str, typer.Argument(help="A target name (qwen, bge, embload.toml's) or URL")],
    model: Annotated[str | None, typer.Option(help="Model name to send")] = None,
    config: Config = None,
    out: Annotated[
        Path | None, typer.Option(help="Directory (default: reports/probe-<time>/)")
    ] = None,
) -> None:
    """Check the vectors: related vs unrelated pairs by category, and consistency under load."""
    from loadtest.comparison import probe_named
    from loadtest.report.terminal import probe_table
    from loadtest.runner import RunError

    try:
        where, result = probe_named(target, model, config, out)
    except RunError as exc:
        raise _fail(str(exc)) from None
    console = Console()
    console.print(probe_table({target: result}))
    console.print(f"probe: {where / 'probe.json'}", highlight=False)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (reports/<time>-<scenario>/)")],
) -> None:
    """Render RUN_DIR/report.html again from the run's saved files."""
    from loadtest.report.html import write_report
    from loadtest.store import NotARun

    try:
        path = write_report(run_dir)
    except NotARun as exc:
        raise _fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot render {run_dir}: {type(exc).__name__}: {exc}") from None
    print(path)


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (reports/<time>-<scenario>/)")],
    format: Annotated[str, typer.Option("--format", help="csv | parquet | jsonl")] = "csv",
    out: Annotated[
        Path | None,
        typer.Option(help="File to write (default: RUN_DIR/records.export.<format>)"),
    ] = None,
) -> None:
    """Write a run's records as CSV, Parquet or JSONL, for pandas, polars or DuckDB."""
    from loadtest.export import FORMATS, ExportError, export
    from loadtest.store import NotARun

    if format not in FORMATS:
        raise _fail(f"unknown format {format!r}; pick {', '.join(FORMATS)}")
    try:
        path, count = export(run_dir, format, out)
    except (NotARun, ExportError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot export {run_dir}: {exc}") from None
    Console(stderr=True).print(f"{count:,} records", highlight=False)
    print(path)


@app.command()
def schema(
    document: Annotated[str, typer.Argument(help="summary (summary.json) or compare")],
) -> None:
    """Print the JSON Schema of summary.json or compare.json, for validating what you read."""
    from pydantic import BaseModel

    from loadtest.core.results import Comparison, RunSummary

    models: dict[str, type[BaseModel]] = {"summary": RunSummary, "compare": Comparison}
    if document not in models:
        raise _fail(f"unknown document {document!r}; pick summary or compare")
    print(json.dumps(models[document].model_json_schema(), indent=2))


@app.command("gpu-agent")
def gpu_agent_command(
    host: Annotated[
        str, typer.Option(help="Address to bind (0.0.0.0 to serve other machines)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 9400,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between samples (default: run's gpu_interval)")
    ] = None,
    gpu_index: Annotated[
        str | None, typer.Option(help="GPUs to read: indices or UUIDs (default: all visible)")
    ] = None,
) -> None:
    """Serve this machine's GPU samples over HTTP for `embload run --gpu-agent URL`."""
    import os

    from loadtest.gpu import GpuAgent, GpuUnavailable, NvmlReader, selected_devices

    every_s = interval or LoadSettings.model_fields["gpu_interval_s"].default
    try:
        devices = selected_devices(gpu_index, os.environ.get("CUDA_VISIBLE_DEVICES"))
        reader = NvmlReader(devices)
    except GpuUnavailable as exc:
        raise _fail(f"no GPU to serve: {exc}") from None
    try:
        agent = GpuAgent(reader, host, port, every_s)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    Console(stderr=True).print(
        f"embload gpu-agent: {', '.join(reader.names)} every {every_s:g} s on "
        f"http://{host}:{agent.port} (GET /samples?since=T)",
        highlight=False,
    )
    agent.start()
    try:
        agent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
        reader.close()


if __name__ == "__main__":
    app()
