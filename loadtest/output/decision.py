"""The decision table of a comparison, terminal and HTML alike: per scenario every candidate's
figures with each one's verdict against the baseline, then the deployment facts (memory,
start-up, cost, capacity within the SLO, quality, agreement) and the Pareto front.

Built to be read in a log as well as a terminal: at most 80 columns, the verdicts as lines of
their own (wrapped at words, never cut), and a section with nothing to show is one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from loadtest.core.comparisons import Candidate, Comparison, Difference, ScenarioComparison
from loadtest.core.results import METRICS
from loadtest.core.thresholds import figure
from loadtest.output.formats import metric_value, number, usd
from loadtest.output.terminal import styled_table

DECISION_METRICS = ("p50", "p99", "qps", "tokens_per_s", "error_rate")
METRIC_HEADS = {
    "p50": "P50 ms",
    "p99": "P99 ms",
    "qps": "QPS",
    "tokens_per_s": "tok/s",
    "error_rate": "err",
}
_NO_DIFFERENCE = "no significant difference"


@dataclass(frozen=True)
class Cell:
    value: str
    ratio: str  # against the baseline: "" for the baseline itself, "-" when not measured
    verdict: str  # "" for the baseline
    better: bool | None  # None: no significant difference (or the baseline)


@dataclass(frozen=True)
class ScenarioRow:
    candidate: str
    baseline: bool
    cells: list[Cell]  # in DECISION_METRICS' order


def _better(metric: str, d: Difference) -> bool | None:
    if d.low is None or d.high is None or d.low <= 0.0 <= d.high:
        return None
    lower = METRICS[metric].lower_is_better
    return d.high < 0 if lower else d.low > 0


def scenario_rows(entry: ScenarioComparison) -> list[ScenarioRow]:
    rows = []
    for side in entry.sides:
        versus = next((v for v in entry.versus if v.candidate == side.candidate), None)
        diffs = {d.metric: d for d in versus.differences} if versus else {}
        cells = []
        for metric in DECISION_METRICS:
            d = diffs.get(metric)
            own = d.b if d is not None else figure(side, metric)
            if d is None:
                cells.append(Cell(metric_value(metric, own), "", "", None))
                continue
            ratio = "-" if d.ratio is None else f"{d.ratio:.2f}"
            cells.append(Cell(metric_value(metric, own), ratio, d.verdict, _better(metric, d)))
        rows.append(ScenarioRow(side.candidate, side.candidate == entry.baseline, cells))
    return rows


def verdict_lines(entry: ScenarioComparison) -> list[str]:
    """Per candidate, its significant differences from the baseline in words; the rest
    summed up as one phrase."""
    lines = []
    for versus in entry.versus:
        said = [
            f"{METRIC_HEADS[d.metric]}: {d.verdict}"
            for d in versus.differences
            if d.metric in DECISION_METRICS and _better(d.metric, d) is not None
        ]
        text = "; ".join(said) if said else _NO_DIFFERENCE
        lines.append(f"{versus.candidate} vs {entry.baseline}: {text}")
    return lines


def memory(c: Candidate) -> str:
    """Peak memory: the GPU's where it was measured, else the server's RSS (marked r)."""
    if c.peak_gpu_mem_bytes is not None:
        return f"{c.peak_gpu_mem_bytes / (1 << 20):,.0f}"
    if c.peak_rss_bytes is not None:
        return f"{c.peak_rss_bytes / (1 << 20):,.0f}r"
    return "-"


def agreement_cosine(c: Candidate) -> str:
    """The lowest mean cosine over its categories against the baseline."""
    if c.agreement is None:
        return "-"
    means = [a.cosine_mean for a in c.agreement.categories.values() if a.cosine_mean is not None]
    if not means:
        overlap = c.agreement.neighbour_overlap
        return "-" if overlap is None else f"nn {overlap:.2f}"
    return f"{min(means):.4f}"


@dataclass(frozen=True)
class DeploymentRow:
    candidate: str
    baseline: bool
    on_front: bool
    cells: list[str]
    note: str  # not measured, quantization, random weights


DEPLOYMENT_HEADS = ("mem MiB", "start s", "$/1M tok", "cap r/s", "$/1M@cap", "nDCG@10", "cos")


def deployment_rows(result: Comparison) -> list[DeploymentRow]:
    front = set(result.pareto.front) if result.pareto else set()
    rows = []
    for c in result.candidates:
        cap = c.capacity
        quality = c.quality.overall.ndcg_at_10 if c.quality and c.quality.overall else None
        cells = [
            memory(c),
            "-" if c.startup_s is None else f"{c.startup_s:.1f}",
            usd(c.usd_per_1m_tokens),
            "-" if cap is None else number(cap.max_rps_within_slo),
            "-" if cap is None else usd(cap.usd_per_1m_tokens),
            "-" if quality is None else f"{quality:.3f}",
            "" if c.name == result.baseline else agreement_cosine(c),
        ]
        notes = [c.not_measured or ""]
        if c.quantize and c.quantize != "none":
            notes.append(f"quantized {c.quantize}")
        if c.weight_bytes is not None:
            loaded = f", loaded in {c.load_s:.1f} s" if c.load_s is not None else ""
            notes.append(f"weights {c.weight_bytes / (1 << 20):,.0f} MiB{loaded}")
        if c.weights == "random":
            notes.append("random weights: speed and memory only")
        note = "; ".join(n for n in notes if n)
        rows.append(DeploymentRow(c.name, c.name == result.baseline, c.name in front, cells, note))
    return rows


def scenario_table(entry: ScenarioComparison, level: float, short: dict[str, str]) -> Table:
    """`short`: each candidate's name as the table shows it (formats.candidate_labels)."""
    base = short.get(entry.baseline, entry.baseline)
    title = f"{entry.scenario}: against {base} (x: B/A; each interval {level:.1%})"
    table = styled_table(title, tight=True)
    table.add_column("", no_wrap=True)
    for metric in DECISION_METRICS:
        table.add_column(METRIC_HEADS[metric], justify="right", no_wrap=True)
    for row in scenario_rows(entry):
        cells = []
        for cell in row.cells:
            mark = {True: "[green]", False: "[red]", None: ""}[cell.better]
            shown = cell.ratio not in ("", "-") and cell.better is not None
            ratio = f" x{cell.ratio}" if shown else ""
            cells.append(f"{mark}{cell.value}{ratio}{'[/]' if mark else ''}")
        table.add_row(short.get(row.candidate, row.candidate), *cells)
    return table


def deployment_table(result: Comparison, short: dict[str, str]) -> Table:
    caption = "mem: peak GPU, else server RSS (r) · cos: lowest category mean vs the baseline"
    if result.pareto:
        caption += f" · * Pareto front ({result.pareto.speed} and quality)"
    table = styled_table(
        f"deployment{f' · capacity within {result.slo}' if result.slo else ''}", caption, tight=True
    )
    table.add_column("", no_wrap=True)
    for head in DEPLOYMENT_HEADS:
        table.add_column(head, justify="right", no_wrap=True)
    for row in deployment_rows(result):
        name = short.get(row.candidate, row.candidate)
        table.add_row(f"{name}{' *' if row.on_front else ''}", *row.cells)
    return table


def deployment_empty(result: Comparison) -> str | None:
    """The one line that stands for the deployment table when none of it was measured."""
    if any(cell not in ("", "-") for row in deployment_rows(result) for cell in row.cells):
        return None
    return (
        "deployment: nothing beyond the load was measured (no server started by embload, "
        "no gpu_cost_per_hour, no --slo, no retrieval quality)"
    )


def deployment_notes(result: Comparison) -> list[str]:
    return [f"{row.candidate}: {row.note}" for row in deployment_rows(result) if row.note]
