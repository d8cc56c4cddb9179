"""The `embload` command: each command parses its options, calls one function, prints.

Heavy imports (torch, locust, the server) happen inside the commands that need them, so
`embload --help` stays instant. User errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadtest import __version__

app = typer.Typer(
    help="Load-test and profile text-embedding endpoints (OpenAI /v1/embeddings).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_SCENARIO_NAMES = ("single", "medium", "peak")
_EIGHT_MIB = 8 << 20


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


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
def run(
    target: Annotated[
        str | None,
        typer.Option(
            help="OpenAI-style base URL, e.g. http://127.0.0.1:30000/v1 (or a bare http://host:port)"
        ),
    ] = None,
    scenario: Annotated[str, typer.Option(help="single | medium | peak | all")] = "peak",
    duration: Annotated[
        str, typer.Option(help="How long each scenario runs: 30s, 2m, 1h30m")
    ] = "30s",
    model: Annotated[
        str | None, typer.Option(help="Model name to send (default: first of /v1/models)")
    ] = None,
    users: Annotated[
        int | None, typer.Option(min=1, help="Concurrent users (default: the scenario's)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: reports/<time>-<scenario>/)")
    ] = None,
    serve: Annotated[
        bool, typer.Option(help="Start the bundled server on loopback for the run")
    ] = False,
    serve_port: Annotated[int, typer.Option(help="Port for --serve")] = 30000,
    corpus: Annotated[
        Path | None, typer.Option(help="Texts to send: .txt (one a line) or .jsonl")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for payload sampling")] = 0,
    encoding_format: Annotated[
        str, typer.Option(help="base64 (as the openai SDK asks) | float")
    ] = "base64",
    timeout: Annotated[float, typer.Option(help="Seconds before a request is a timeout")] = 60.0,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="EMBLOAD_API_KEY", show_default=False, help="Bearer token (or EMBLOAD_API_KEY)"
        ),
    ] = None,
    gpu_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between GPU and server-process samples")
    ] = 0.1,
    gpu_index: Annotated[
        str | None,
        typer.Option(help="GPUs to sample: indices or UUIDs (default: CUDA_VISIBLE_DEVICES)"),
    ] = None,
    gpu_agent: Annotated[
        str | None,
        typer.Option(help="URL of `embload gpu-agent` next to a remote server"),
    ] = None,
    server_pid: Annotated[
        int | None, typer.Option(help="PID of a local server: sample its RSS and CPU")
    ] = None,
    oom_threshold: Annotated[
        float,
        typer.Option(min=0.01, max=1.0, help="GPU memory fraction that counts as the ceiling"),
    ] = 0.95,
) -> None:
    """Run shipped scenarios against a target with Locust and print exact latency figures."""
    from loadtest.report.terminal import print_summary
    from loadtest.runner import RunError, RunOptions, parse_duration
    from loadtest.runner import run as run_scenarios

    names = list(_SCENARIO_NAMES) if scenario == "all" else [scenario]
    if scenario != "all" and scenario not in _SCENARIO_NAMES:
        raise _fail(
            f"unknown scenario {scenario!r}; pick one of {', '.join(_SCENARIO_NAMES)} or all"
        )
    if encoding_format not in ("float", "base64"):
        raise _fail("--encoding-format must be float or base64")
    if corpus is not None and not corpus.is_file():
        raise _fail(f"corpus file {corpus} does not exist")
    console = Console()
    try:
        opts = RunOptions(
            target=target,
            scenarios=names,
            duration_s=parse_duration(duration),
            model=model,
            users=users,
            out=out,
            serve=serve,
            serve_port=serve_port,
            corpus=corpus,
            seed=seed,
            encoding=encoding_format,
            timeout_s=timeout,
            api_key=api_key,
            gpu_interval_s=gpu_interval,
            gpu_index=gpu_index,
            gpu_agent=gpu_agent,
            server_pid=server_pid,
            oom_threshold=oom_threshold,
        )
        results = run_scenarios(opts, console)
    except RunError as exc:
        raise _fail(str(exc)) from None
    failed = 0
    for result in results:
        print_summary(console, result.summary, str(result.run_dir))
        failed += result.summary["requests"] - result.summary["ok"]
        if (result.run_dir / "report.html").exists():
            console.print(f"report: {result.run_dir / 'report.html'}", highlight=False)
    crashes = [
        e for r in results for e in r.summary.get("oom_events", []) if e["kind"] == "server_crash"
    ]
    if crashes:
        raise _fail(
            f"the server stopped answering during the run ({crashes[0]['evidence']}); "
            f"{failed:,} requests failed, every one is in records.jsonl of its run",
            code=1,
        )
    if failed:
        raise _fail(f"{failed:,} requests failed; every one is in records.jsonl of its run", code=1)


@app.command()
def serve(
    model: Annotated[str, typer.Option(help="minilm | qwen | bge")] = "minilm",
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 30000,
    device: Annotated[
        str | None, typer.Option(help="cpu | cuda (default: cuda when present)")
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(help="Directory with the weights (default: the local Hugging Face cache)"),
    ] = None,
    random_weights: Annotated[
        bool,
        typer.Option(help="The published architecture with random weights: speed/memory only"),
    ] = False,
    dtype: Annotated[
        str | None, typer.Option(help="bf16 | fp16 | fp32 (default: bf16 on CUDA, fp32 on CPU)")
    ] = None,
    max_input_tokens: Annotated[
        int | None, typer.Option(min=1, help="Longest input in tokens (default: the model's)")
    ] = None,
    instruction: Annotated[
        str | None, typer.Option(help="qwen: task for queries that send none")
    ] = None,
    truncate: Annotated[
        bool, typer.Option(help="Cut inputs over the model's limit instead of 400")
    ] = False,
    max_batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass at most")] = 64,
    max_batch_tokens: Annotated[
        int, typer.Option(min=1, help="Padded tokens per pass at most")
    ] = 16384,
    gather_ms: Annotated[float, typer.Option(min=0, help="Wait for arriving requests, ms")] = 2.0,
    max_queue: Annotated[int, typer.Option(min=1, help="Queued texts before 429")] = 4096,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Request body limit (413 above)")
    ] = _EIGHT_MIB,
) -> None:
    """Serve embeddings over OpenAI /v1/embeddings from the bundled reference server."""
    from loadtest.server.app import ServerConfig
    from loadtest.server.app import serve as serve_forever

    if model not in ("minilm", "qwen", "bge"):
        raise _fail(f"unknown model {model!r}; pick minilm, qwen or bge")
    if dtype not in (None, "bf16", "fp16", "fp32"):
        raise _fail("--dtype must be bf16, fp16 or fp32")
    if random_weights and model == "minilm":
        raise _fail("minilm ships its real weights; --random-weights is for qwen and bge")
    if not random_weights:
        from loadtest.server.presets import PRESETS, ModelNotFound, weights_dir

        try:  # before binding the port: no weights is one line and exit 2, not a 503 server
            weights_dir(PRESETS[model], model_path)
        except ModelNotFound as exc:
            raise _fail(str(exc)) from None
    config = ServerConfig(
        model=model,
        host=host,
        port=port,
        device=device,
        model_path=model_path,
        random_weights=random_weights,
        dtype=dtype,
        max_input_tokens=max_input_tokens,
        instruction=instruction,
        truncate=truncate,
        max_batch_size=max_batch_size,
        max_batch_tokens=max_batch_tokens,
        gather_ms=gather_ms,
        max_queue=max_queue,
        max_body_bytes=max_body_bytes,
    )
    Console(stderr=True).print(
        f"embload serve: {model} on http://{host}:{port}/v1 "
        "(GET /health is 200 once the model is loaded)",
        highlight=False,
    )
    serve_forever(config)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="Target name (qwen, bge, embload.toml's) or a run dir")],
    b: Annotated[str, typer.Argument(help="The other target, or run dir")],
    scenarios: Annotated[
        str, typer.Option(help="Comma-separated: single,medium,peak")
    ] = "single,medium,peak",
    duration: Annotated[str, typer.Option(help="How long each scenario runs per target")] = "30s",
    serve: Annotated[
        bool, typer.Option(help="Start each target's bundled server in turn, on its url's port")
    ] = False,
    random_weights: Annotated[
        bool, typer.Option(help="With --serve: qwen/bge with random weights (speed, memory)")
    ] = False,
    probe: Annotated[
        bool, typer.Option(help="Run the quality probe on each target after its runs")
    ] = True,
    users: Annotated[
        int | None, typer.Option(min=1, help="Users (default: each scenario's)")
    ] = None,
    target: Annotated[
        list[str] | None, typer.Option(help="NAME=URL, defines or overrides a target")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Targets file (default: ./embload.toml when present)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Directory (default: reports/compare-<time>/)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for payloads and the bootstrap")] = 0,
    fail_on_regression: Annotated[
        str | None,
        typer.Option(help="e.g. 10%: exit 1 when B is significantly worse by more than this"),
    ] = None,
) -> None:
    """Compare two targets on the same workload (or two saved runs): verdicts with 95% intervals."""
    from loadtest.comparison import CompareOptions, compare_anything, regressions, write_comparison
    from loadtest.report.compare_html import write_compare_html
    from loadtest.report.terminal import compare_table, probe_table
    from loadtest.runner import RunError, parse_duration

    threshold = None
    if fail_on_regression is not None:
        try:
            threshold = float(fail_on_regression.rstrip("%")) / 100
        except ValueError:
            raise _fail("--fail-on-regression takes a percentage, e.g. 10%") from None
    console = Console()
    wanted = [s.strip() for s in scenarios.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in _SCENARIO_NAMES]
    if unknown or not wanted:
        raise _fail(f"unknown scenarios {unknown}; pick from {', '.join(_SCENARIO_NAMES)}")
    try:
        opts = CompareOptions(
            names=(a, b),
            scenarios=wanted,
            duration_s=parse_duration(duration),
            serve=serve,
            random_weights=random_weights,
            probe=probe,
            out=out,
            seed=seed,
            users=users,
            config=config,
            overrides=target or [],
        )
        where, result = compare_anything(opts, console)
    except RunError as exc:
        raise _fail(str(exc)) from None
    write_comparison(where, result)
    html = write_compare_html(where, result)
    for entry in result["scenarios"]:
        console.print(compare_table(result, entry))
    if result["probe"]:
        console.print(probe_table(result["probe"]))
    console.print(f"comparison: {where / 'compare.json'} · {html}", highlight=False)
    if threshold is not None:
        worse = regressions(result, threshold)
        if worse:
            raise _fail(
                f"{result['b']} regressed beyond {threshold:.0%}: " + "; ".join(worse), code=1
            )


@app.command("probe")
def probe_command(
    target: Annotated[str, typer.Argument(help="A target name (qwen, bge, embload.toml's) or URL")],
    model: Annotated[str | None, typer.Option(help="Model name to send")] = None,
    config: Annotated[
        Path | None, typer.Option(help="Targets file (default: ./embload.toml when present)")
    ] = None,
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

    if not (run_dir / "summary.json").is_file():
        raise _fail(f"{run_dir} is not a run directory: it has no summary.json")
    try:
        path = write_report(run_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise _fail(f"cannot render {run_dir}: {type(exc).__name__}: {exc}") from None
    print(path)


@app.command("gpu-agent")
def gpu_agent_command(
    host: Annotated[
        str, typer.Option(help="Address to bind (0.0.0.0 to serve other machines)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 9400,
    interval: Annotated[float, typer.Option(min=0.01, help="Seconds between samples")] = 0.1,
    gpu_index: Annotated[
        str | None, typer.Option(help="GPUs to read: indices or UUIDs (default: all visible)")
    ] = None,
) -> None:
    """Serve this machine's GPU samples over HTTP for `embload run --gpu-agent URL`."""
    import os

    from loadtest.gpu import GpuAgent, GpuUnavailable, NvmlReader, selected_devices

    try:
        devices = selected_devices(gpu_index, os.environ.get("CUDA_VISIBLE_DEVICES"))
        reader = NvmlReader(devices)
    except GpuUnavailable as exc:
        raise _fail(f"no GPU to serve: {exc}") from None
    try:
        agent = GpuAgent(reader, host, port, interval)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    Console(stderr=True).print(
        f"embload gpu-agent: {', '.join(reader.names)} every {interval:g} s on "
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
