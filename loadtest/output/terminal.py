"""Rich tables: a run's summary (overall, then one row per category) with one line each for GPU
memory, the server process, start-up and out-of-memory events; a comparison; the quality
probe, retrieval quality and agreement with a baseline, for any number of candidates (as rows,
so 8 fit 80 columns, in a log as on a terminal)."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from loadtest.core.comparisons import ProbeResult
from loadtest.core.quality import Agreement, QualityResult
from loadtest.core.results import Figures, RunSummary
from loadtest.core.sweep import SweepResult
from loadtest.output.formats import (
    AGREEMENT_COLUMNS,
    CONSISTENCY_LABELS,
    QUALITY_COLUMNS,
    GroupRow,
    agreement_lines,
    agreement_rows,
    mib,
    number,
    pct,
    probe_candidates,
    probe_lines,
    quality_lines,
    quality_rows,
    usd,
)
from loadtest.store.history import Entry, Trend
from loadtest.target.url import redact

# P99.9 stays in summary.json: eleven columns do not fit an 80-column terminal.
_COLUMNS = ("req", "err", "QPS", "in/s", "tok/s", "P50", "P90", "P99", "max")


def _row(label: str, fig: Figures) -> list[str]:
    lat = fig.latency_ms
    failed = fig.requests - fig.ok
    return [
        label,
        f"{fig.requests:,}",
        f"[red]{failed:,}[/red]" if failed else "0",
        number(fig.qps),
        number(fig.inputs_per_s),
        number(fig.tokens_per_s),
        number(lat.p50),
        number(lat.p90),
        number(lat.p99),
        number(lat.max),
    ]


def styled_table(title: str, caption: str | None = None, tight: bool = False) -> Table:
    """The look every embload table shares: a left title, one rule under the header; `tight`:
    one space between columns, where eight of them must fit 80 columns whole."""
    return Table(
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 0, 0, 1) if tight else (0, 1),
    )


def summary_table(summary: RunSummary, run_dir: str) -> Table:
    title = (
        f"{summary.scenario} · {summary.users} users · {summary.duration_s:.1f} s · "
        f"{summary.model or 'model unnamed'} @ {redact(summary.target)}"
    )
    table = styled_table(title, caption=f"latency in ms over successful requests · run: {run_dir}")
    table.add_column("", no_wrap=True)
    for name in _COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_row(*_row("all", summary), style="bold")
    for category, fig in summary.by_category.items():
        table.add_row(*_row(category, fig))
    return table


def print_summary(console: Console, summary: RunSummary, run_dir: str) -> None:
    console.print(summary_table(summary, run_dir))
    if summary.interrupted:
        console.print(
            f"[yellow]interrupted by {summary.interrupted} after {summary.duration_s:.1f} s: "
            "the figures are of the part that ran[/yellow]",
            highlight=False,
        )
    for line in [*load_lines(summary), *warmup_lines(summary), *resource_lines(summary)]:
        console.print(line, highlight=False)
    kinds = {k: v for k, v in summary.errors.items() if v}
    if kinds:
        listed = ", ".join(f"{k.value} {v:,}" for k, v in kinds.items())
        console.print(f"[red]errors:[/red] {listed}")
        for kind, messages in summary.error_samples.items():
            console.print(f"  {kind.value}: {messages[0]}", markup=False, highlight=False)


def load_lines(summary: RunSummary) -> list[str]:
    """An open loop's offer against what it achieved (rich markup); nothing for a closed loop."""
    load = summary.load
    if load is None or load.mode != "open" or load.offered_rps is None:
        return []
    shape: str = load.arrival or ""
    if load.burstiness is not None:
        shape += f", burstiness {load.burstiness:g}"
    lag = "-" if load.send_lag_p99_ms is None else f"{load.send_lag_p99_ms:.2f} ms"
    behind = "red" if load.late or load.dropped else "green"
    cut = f" · {load.unfinished:,} unfinished at stop" if load.unfinished else ""
    lines = [
        f"open loop: offered {load.offered_rps:.4g} req/s ({shape}), achieved "
        f"{load.achieved_rps:.1f} req/s · [{behind}]{load.late:,} late, {load.dropped:,} "
        f"dropped[/{behind}] of {load.due or 0:,} due · send lag P99 {lag} · at most "
        f"{load.max_in_flight} in flight{cut}"
    ]
    trace = summary.trace
    if trace is not None:
        fast = f" at {trace.speed:g}x" if trace.speed != 1 else ""

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        lines.append(
            f"trace {escape(trace.path)} (sha256 {trace.sha256[:12]}, {trace.lines:,} lines over "
            f"{trace.span_s:.1f} s{fast}): {trace.replayed:,} replayed · send lag P50/P99/max "
            f"{ms(load.send_lag_p50_ms)}/{ms(load.send_lag_p99_ms)}/{ms(load.send_lag_max_ms)} ms"
        )
    return lines


def warmup_lines(summary: RunSummary) -> list[str]:
    """The warm-up left out, and the stability verdicts where any was given (rich markup)."""
    lines = []
    w = summary.warmup
    if w is not None:
        lines.append(f"warm-up ({w.asked}): {w.requests:,} requests, left out of every figure")
    st = summary.stability
    if st is None:
        return lines
    fits = [st.server_rss, st.gpu_memory, st.embload_rss, st.p99_drift]
    given = [f for f in fits if f is not None and f.verdict != "too_little_data"]
    for fit in given:
        bad = fit.verdict in ("leak_suspected", "drifting")
        words = escape(fit.words)
        lines.append(f"[red]{words}[/red]" if bad else words)
    return lines


def resource_lines(summary: RunSummary) -> list[str]:
    """Plain-text lines on memory, start-up and OOM events (rich markup)."""
    lines = []
    gpu = summary.gpu
    if gpu:
        server = gpu.server_peak_mem_bytes
        lines.append(
            f"GPU {gpu.index} {gpu.name}: peak {mib(gpu.peak_mem_used_bytes)} of "
            f"{mib(gpu.mem_total_bytes)} ({pct((gpu.peak_mem_fraction or 0) * 100)}), "
            f"idle {mib(gpu.idle_mem_used_bytes)}"
            + (f", server {mib(server)}" if server is not None else "")
            + f" · util mean {pct(gpu.mean_util_pct)}, peak {pct(gpu.peak_util_pct)}"
        )
    else:
        lines.append(f"[dim]GPU telemetry off: {summary.gpu_unavailable}[/dim]")
    proc = summary.server_process
    if proc:
        lines.append(
            f"server process {proc.pid}: RSS peak {mib(proc.peak_rss_bytes)} "
            f"(idle {mib(proc.idle_rss_bytes)}) · CPU mean {pct(proc.mean_cpu_pct)}, "
            f"peak {pct(proc.peak_cpu_pct)} of one core"
        )
    c = summary.cost
    if c is not None:
        lines.append(
            f"cost at ${c.usd_per_hour:g}/h: {usd(c.usd_per_1m_tokens)} per 1M tokens · "
            f"{usd(c.usd_per_1m_inputs)} per 1M inputs · {usd(c.usd_per_1m_requests)} per 1M "
            "requests"
        )
    startup = summary.startup
    if startup:
        loaded = "-" if startup.model_loaded_s is None else f"{startup.model_loaded_s:.1f}"
        gpu_idle = startup.idle_gpu_mem_bytes
        lines.append(
            f"start-up: model loaded {loaded} s, ready {startup.ready_s:.1f} s after launch · "
            f"idle RSS {mib(startup.idle_rss_bytes)}"
            + (f", GPU {mib(gpu_idle)}" if gpu_idle is not None else "")
        )
    card = summary.server_model
    if card is not None and card.truncate is not None and card.max_input_tokens:
        verb = "cuts" if card.truncate else "refuses (400)"
        lines.append(f"server {verb} inputs over {card.max_input_tokens:,} tokens")
    for event in summary.oom_events:
        lines.append(f"[red]{event.kind.value}[/red] {event.evidence}")
    return lines


def _notes(lines: list[tuple[str, str]]) -> list[Text]:
    """Lines under a table, each its own paragraph: wrapped between words at any width."""
    style = {"bad": "red", "warn": "yellow"}
    return [Text(text, style=style.get(level, "")) for level, text in lines]


def _grouped(
    title: str, groups: str, rows: list[GroupRow], columns: tuple[str, ...], marked: str
) -> Table:
    """Candidates as rows, grouped (by pair, by category), `marked` rows in that style; the
    candidate column only when there are several."""
    several = len({r.candidate for r in rows}) > 1
    table = styled_table(title)
    table.add_column(groups, no_wrap=True)
    if several:
        table.add_column("", no_wrap=True)
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        label = [r.candidate] if several else []
        style = marked if r.marked else None
        table.add_row(r.group, *label, *r.cells, style=style, end_section=several and r.last)
    return table


def quality_table(results: dict[str, QualityResult]) -> RenderableType:
    """Retrieval quality per pair and candidate, then who each candidate is; one line for a
    section where every candidate was skipped."""
    rows = quality_rows(results)
    notes = _notes(quality_lines(results))
    if not rows:
        return Group(*notes)
    title = "retrieval quality: queries -> documents of one language, higher is better"
    return Group(_grouped(title, "pair", rows, QUALITY_COLUMNS, "bold"), *notes)


def agreement_table(agreements: list[Agreement]) -> RenderableType:
    """Each candidate against the baseline, per category of text; flags in red under it."""
    if not agreements:
        return Group()
    rows = agreement_rows(agreements)
    title = f"agreement with {agreements[0].baseline}: cosine of each text's two vectors"
    table = _grouped(title, "texts of", rows, AGREEMENT_COLUMNS, "red")
    key = "top-10: the share of each text's 10 nearest neighbours both models name"
    return Group(table, *_notes([("info", key), *agreement_lines(agreements)]))


_PROBE_HEADS = {
    "zh_paraphrase": "zh para",
    "zh_en": "zh-en",
    "zh_ja": "zh-ja",
    "code_doc": "code doc",
    "near_miss": "near miss",
    "unrelated": "unrel cos",
}


def probe_table(probes: dict[str, ProbeResult]) -> RenderableType:
    """The quality probe with candidates as rows, narrow enough for 80 columns: the AUC per
    category (spreads are in the JSON and the HTML), then consistency; one line for a section
    where every candidate was skipped."""
    categories, rows = probe_candidates(probes)
    notes = _notes(probe_lines(probes))
    if not rows:
        return Group(*notes)
    auc = styled_table("quality probe: AUC of related vs unrelated pairs (0.5 chance, 1 perfect)")
    auc.add_column("", no_wrap=True)
    for category in categories:  # short: seven columns and the names fit 80, words whole
        auc.add_column(_PROBE_HEADS.get(category, category.replace("_", " ")), justify="right")
    for row in rows:
        auc.add_row(row.candidate, *(c.auc if c.auc != "-" else c.unrelated for c in row.cells))
    same = styled_table("consistency: cosine with the same text at rest (1 is identical)")
    same.add_column("", no_wrap=True)
    for label in CONSISTENCY_LABELS:
        same.add_column(label, justify="right")
    for row in rows:
        same.add_row(row.candidate, *row.consistency)
    return Group(auc, same, *notes)


def sweep_table(r: SweepResult) -> Table:
    """Every step of a sweep, the answer's row in bold."""
    load = {"rates": "req/s", "users": "users", "batch": "batch"}[r.kind]
    table = styled_table(
        f"sweep · {r.scenario} · {redact(r.target)}" + (f" · SLO {r.slo}" if r.slo else ""),
        caption="latency in ms over successful requests · each step a run directory",
    )
    rate = "in/s" if r.kind == "batch" else "QPS"
    for name in ("step", load, "err", rate, "P50", "P99", "SLO"):
        table.add_column(name, justify="left" if name == "step" else "right", no_wrap=True)
    answer = r.answer.run_dir if r.answer else None
    for s in [*([r.baseline] if r.baseline else []), *r.steps]:
        table.add_row(
            s.run_dir,
            f"{s.load:g}" if s is not r.baseline else "1 user",
            f"{s.error_rate:.1%}",
            number(s.inputs_per_s if r.kind == "batch" else s.qps),
            number(s.p50_ms),
            number(s.p99_ms),
            {None: "", True: "[green]held[/green]", False: "[red]crossed[/red]"}[s.within_slo],
            style="bold" if s.run_dir == answer else None,
        )
    return table


def sweep_lines(r: SweepResult) -> list[str]:
    """The sweep's answer in words (rich markup)."""
    lines = []
    if r.slo and r.kind == "rates":
        held = r.max_rps_within_slo
        lines.append(
            f"highest rate within {r.slo}: "
            + (
                "[red]none of the steps held it[/red]"
                if held is None
                else f"[bold]{held:g} req/s[/bold]"
            )
        )
    if r.kind == "batch" and r.answer is not None:
        lines.append(
            f"best batch: [bold]{r.best_batch}[/bold] texts per request "
            f"({r.answer.inputs_per_s:,.1f} inputs/s, P99 {number(r.answer.p99_ms)} ms)"
        )
    if r.kind != "batch":
        lines.append(f"knee: {r.knee.load:g} ({r.knee.reason})" if r.knee else "knee: none seen")
    return lines


_SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """A value per character, lowest to highest; a gap where there is none."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else _SPARKS[round((v - low) / span * (len(_SPARKS) - 1))] for v in values
    )


def history_table(found: list[Entry]) -> Table:
    """Runs, compares and sweeps, oldest first; a regression in red with what was worse."""
    table = styled_table(
        "history", "latency in ms · regression: against the previous comparable run"
    )
    for name in ("when", "kind", "target", "scenario", "req", "err", "P50", "P99", "QPS", ""):
        table.add_column(name, justify="left" if name in ("when", "kind", "") else "right")
    for e in found:
        when = _when(e.started_at_unix)
        flag = "[red]regression[/red]" if e.regression else (e.note or "")
        errors = None if e.requests is None or e.ok is None else e.requests - e.ok
        table.add_row(
            when,
            e.kind,
            e.target,
            e.scenario,
            "-" if e.requests is None else f"{e.requests:,}",
            "-" if errors is None else f"{errors:,}",
            number(e.p50_ms),
            number(e.p99_ms),
            number(e.qps),
            flag,
        )
    return table


def _when(unix: float) -> str:
    return datetime.fromtimestamp(unix).strftime("%m-%d %H:%M")


def regression_lines(found: list[Entry]) -> list[str]:
    """What made each regression one, against which run."""
    return [
        f"[red]regression[/red] {_when(e.started_at_unix)}: {line} (against {e.baseline})"
        for e in found
        if e.regression
        for line in e.regression
    ]


def trend_lines(found: list[Trend]) -> list[str]:
    """Per target and scenario: P99 and QPS over its runs."""
    return [
        f"{t.target} · {t.scenario}: {t.runs} runs · P99 {sparkline(t.p99_ms)} · QPS "
        f"{sparkline(t.qps)}"
        + (f" · [red]{t.regressions} regression(s)[/red]" if t.regressions else "")
        for t in found
    ]
