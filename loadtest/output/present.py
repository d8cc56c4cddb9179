"""What each command shows once it has its result: the terminal's tables and lines, and the
HTML pages a compare and a sweep write beside their JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from loadtest.analysis.trend import History
from loadtest.core.comparisons import Comparison, ProbeResult
from loadtest.core.results import RunSummary
from loadtest.core.sweep import SweepResult
from loadtest.output.decision import (
    deployment_empty,
    deployment_notes,
    deployment_table,
    scenario_table,
    verdict_lines,
)
from loadtest.output.formats import candidate_labels
from loadtest.output.terminal import (
    agreement_table,
    history_table,
    print_summary,
    probe_table,
    quality_table,
    regression_lines,
    sweep_lines,
    sweep_table,
    trend_lines,
)
from loadtest.store.files import REPORT


def runs(console: Console, done: Sequence[tuple[Path, RunSummary]]) -> None:
    for run_dir, summary in done:
        print_summary(console, summary, str(run_dir))
        if (run_dir / REPORT).exists():
            console.print(f"report: {run_dir / REPORT}", highlight=False)


def soak(console: Console, done: Sequence[tuple[Path, RunSummary]]) -> None:
    """A run's figures, then every stability verdict: a soak says what it could not judge too."""
    for run_dir, summary in done:
        runs(console, [(run_dir, summary)])
        st = summary.stability
        if st is None:
            continue
        console.print("stability:", highlight=False)
        for fit in (st.server_rss, st.gpu_memory, st.embload_rss, st.p99_drift):
            if fit is not None:
                bad = fit.verdict in ("leak_suspected", "drifting")
                console.print(f"  {fit.words}", style="red" if bad else None, highlight=False)
        if st.server_rss is None:
            console.print(
                "  server memory not sampled: give --server-pid, start it with --serve, or "
                "serve process_resident_memory_bytes on its /metrics",
                highlight=False,
            )


def sweep(console: Console, where: Path, result: SweepResult, json_path: Path) -> None:
    from loadtest.output.sweep_html import write_sweep_html

    html = write_sweep_html(where, result)
    console.print(sweep_table(result))
    for line in sweep_lines(result):
        console.print(line, highlight=False)
    console.print(f"sweep: {json_path} · {html}", highlight=False)


def compare(console: Console, where: Path, result: Comparison, json_path: Path) -> None:
    """The decision: each scenario's table and verdicts, the deployment facts, then quality,
    agreement and the probe, each section one line when it has nothing to show."""
    from loadtest.output.compare_html import write_compare_html

    html = write_compare_html(where, result)
    labels, legend = candidate_labels(result.names)  # long names (URLs) as #1, #2 and a key
    short = dict(zip(result.names, labels, strict=True))
    for line in legend:
        console.print(line, highlight=False)
    for entry in result.scenarios:
        console.print(scenario_table(entry, result.level, short))
        for line in verdict_lines(entry):
            console.print(line, highlight=False)
    empty = deployment_empty(result)
    console.print(empty if empty else deployment_table(result, short), highlight=False)
    for line in deployment_notes(result):
        console.print(line, highlight=False)
    if result.qualities_by_name():
        console.print(quality_table(result.qualities_by_name()))
    if result.agreements():
        console.print(agreement_table(result.agreements()))
    if result.probes_by_name():
        console.print(probe_table(result.probes_by_name()))
    console.print(f"comparison: {json_path} · {html}", highlight=False)


def probe(console: Console, name: str, result: ProbeResult, json_path: Path) -> None:
    console.print(probe_table({name: result}))
    console.print(f"probe: {json_path}", highlight=False)


def history(console: Console, db: Path, found: History, as_json: bool) -> None:
    if as_json:
        doc = {
            "history": str(db),
            "runs": [asdict(e) for e in found.entries],
            "trends": [asdict(t) for t in found.trends],
        }
        print(json.dumps(doc, indent=2))
        return
    if found.indexed is not None:
        console.print(f"indexed {found.indexed:,} runs, compares and sweeps into {db}")
    console.print(history_table(found.entries))
    for line in [*regression_lines(found.entries), *trend_lines(found.trends)]:
        console.print(line, highlight=False)
