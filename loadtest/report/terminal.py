"""Rich tables of a run's summary: the overall figures, one row per category, then one line
each for GPU memory, the server process, start-up and out-of-memory events."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


def fmt_ms(value: float | None) -> str:
    """Milliseconds with sensible precision: 2 decimals under 10 ms, 1 under 100, none above."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


# P99.9 stays in summary.json: eleven columns do not fit an 80-column terminal.
_COLUMNS = ("req", "err", "QPS", "in/s", "tok/s", "P50", "P90", "P99", "max")


def _row(label: str, fig: dict[str, Any]) -> list[str]:
    lat = fig["latency_ms"]
    failed = fig["requests"] - fig["ok"]
    return [
        label,
        f"{fig['requests']:,}",
        f"[red]{failed:,}[/red]" if failed else "0",
        _rate(fig["qps"]),
        _rate(fig["inputs_per_s"]),
        _rate(fig["tokens_per_s"]),
        fmt_ms(lat["p50"]),
        fmt_ms(lat["p90"]),
        fmt_ms(lat["p99"]),
        fmt_ms(lat["max"]),
    ]


def _table(title: str, caption: str | None = None) -> Table:
    """The look every embload table shares: a left title, one rule under the header."""
    return Table(
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )


def summary_table(summary: dict[str, Any], run_dir: str) -> Table:
    title = (
        f"{summary['scenario']} · {summary['users']} users · {summary['duration_s']:.1f} s · "
        f"{summary['model'] or 'model unnamed'} @ {summary['target']}"
    )
    table = _table(title, caption=f"latency in ms over successful requests · run: {run_dir}")
    table.add_column("", no_wrap=True)
    for name in _COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_row(*_row("all", summary), style="bold")
    for category, fig in summary["by_category"].items():
        table.add_row(*_row(category, fig))
    return table


def print_summary(console: Console, summary: dict[str, Any], run_dir: str) -> None:
    console.print(summary_table(summary, run_dir))
    for line in resource_lines(summary):
        console.print(line, highlight=False)
    kinds = {k: v for k, v in summary["errors"].items() if v}
    if kinds:
        listed = ", ".join(f"{k} {v:,}" for k, v in kinds.items())
        console.print(f"[red]errors:[/red] {listed}")
        for kind, messages in summary.get("error_samples", {}).items():
            console.print(f"  {kind}: {messages[0]}", markup=False, highlight=False)


def mib(n_bytes: float | None) -> str:
    return "-" if n_bytes is None else f"{n_bytes / (1 << 20):,.0f} MiB"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def resource_lines(summary: dict[str, Any]) -> list[str]:
    """Plain-text lines on memory, start-up and OOM events (rich markup)."""
    lines = []
    gpu = summary.get("gpu")
    if gpu:
        frac = gpu["peak_mem_fraction"]
        server = gpu["server_peak_mem_bytes"]
        lines.append(
            f"GPU {gpu['index']} {gpu['name']}: peak {mib(gpu['peak_mem_used_bytes'])} of "
            f"{mib(gpu['mem_total_bytes'])} ({frac:.0%}), idle {mib(gpu['idle_mem_used_bytes'])}"
            + (f", server {mib(server)}" if server is not None else "")
            + f" · util mean {_pct(gpu['mean_util_pct'])}, peak {_pct(gpu['peak_util_pct'])}"
        )
    elif "gpu_unavailable" in summary:
        lines.append(f"[dim]GPU telemetry off: {summary['gpu_unavailable']}[/dim]")
    proc = summary.get("server_process")
    if proc:
        lines.append(
            f"server process {proc['pid']}: RSS peak {mib(proc['peak_rss_bytes'])} "
            f"(idle {mib(proc['idle_rss_bytes'])}) · CPU mean {_pct(proc['mean_cpu_pct'])}, "
            f"peak {_pct(proc['peak_cpu_pct'])} of one core"
        )
    startup = summary.get("startup")
    if startup:
        loaded = startup["model_loaded_s"]
        lines.append(
            f"start-up: model loaded {'-' if loaded is None else f'{loaded:.1f}'} s, ready "
            f"{startup['ready_s']:.1f} s after launch · idle RSS {mib(startup['idle_rss_bytes'])}"
            + (
                f", GPU {mib(startup['idle_gpu_mem_bytes'])}"
                if startup["idle_gpu_mem_bytes"] is not None
                else ""
            )
        )
    for event in summary.get("oom_events", []):
        lines.append(f"[red]{event['kind']}[/red] {event['evidence']}")
    return lines


METRIC_NAMES = {
    "p50": "P50 ms",
    "p90": "P90 ms",
    "p99": "P99 ms",
    "qps": "QPS",
    "inputs_per_s": "inputs/s",
    "tokens_per_s": "tokens/s",
    "error_rate": "error rate",
}


def metric_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric.startswith("p"):
        return fmt_ms(value)
    return f"{value:.2%}" if metric == "error_rate" else _rate(value)


def compare_table(result: dict[str, Any], entry: dict[str, Any]) -> Table:
    """One scenario of a comparison: A, B, B/A and the verdict per metric."""
    a, b = result["a"], result["b"]
    table = _table(f"{entry['scenario']}: {a} vs {b}")
    table.add_column("", no_wrap=True)
    table.add_column(a, justify="right", no_wrap=True)
    table.add_column(b, justify="right", no_wrap=True)
    table.add_column("B/A", justify="right", no_wrap=True)
    table.add_column("verdict (95% bootstrap interval)")
    for d in entry["differences"]:
        ratio = "-" if d["ratio"] is None else f"{d['ratio']:.2f}"
        table.add_row(
            METRIC_NAMES[d["metric"]],
            metric_value(d["metric"], d["a"]),
            metric_value(d["metric"], d["b"]),
            ratio,
            d["verdict"],
        )
    for label, key in (("OOM events", "oom_events"), ("peak GPU", "peak_gpu_mem_bytes")):
        va, vb = entry["a"][key], entry["b"][key]
        fmt = mib if key == "peak_gpu_mem_bytes" else (lambda v: "-" if v is None else str(v))
        table.add_row(label, fmt(va), fmt(vb), "", "")
    sa, sb = entry["a"]["startup_s"], entry["b"]["startup_s"]
    if sa is not None or sb is not None:
        table.add_row(
            "start-up s",
            "-" if sa is None else f"{sa:.1f}",
            "-" if sb is None else f"{sb:.1f}",
            "",
            "",
        )
    return table


def probe_rows(probes: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Rows of the probe's figures: per category, for each target, related, unrelated, AUC;
    then the consistency cosines. Targets that were not probed show dashes."""
    names = list(probes)
    done = [n for n in names if "separation" in probes[n]]
    rows = []
    for category in probes[done[0]]["separation"] if done else []:
        cells = []
        for name in names:
            fig = probes[name].get("separation", {}).get(category)
            if fig is None:
                cells += ["-", "-", "-"]
                continue
            rel, unrel = fig.get("related"), fig["unrelated"]
            cells += [
                "-" if rel is None else f"{rel['mean']:.3f} ± {rel['std']:.3f}",
                f"{unrel['mean']:.3f} ± {unrel['std']:.3f}",
                f"{fig['auc']:.2f}" if "auc" in fig else "",
            ]
        rows.append((category, cells))
    for key, label in (
        ("same_text", "same text twice"),
        ("in_batch", "alone vs in batch of 64"),
        ("under_load_worst", "worst during the runs"),
        ("burst_worst", "worst in a 64-way burst"),
    ):
        cells = []
        for name in names:
            value = probes[name].get("consistency", {}).get(key)
            cells += ["-" if value is None else f"{value:.6f}", "", ""]
        rows.append((label, cells))
    return rows


def probe_table(probes: dict[str, Any]) -> Table:
    """Quality probe per target, narrow enough for 80 columns: AUC and the related / unrelated
    mean cosine per category (spreads are in the JSON and the HTML), then consistency."""
    table = _table("quality probe: per target, AUC and related/unrelated mean cosine")
    table.add_column("", no_wrap=True)
    for name in probes:
        table.add_column(name, justify="right", no_wrap=True)
        table.add_column("", justify="right", no_wrap=True)
    for label, cells in probe_rows(probes):
        short = []
        for i in range(0, len(cells), 3):
            related, unrelated, auc_text = cells[i : i + 3]
            if auc_text == "" and unrelated == "":
                short += ["", related]  # a consistency cosine, or "-" where none was measured
                continue
            means = [c.split(" ± ")[0] for c in (related, unrelated)]
            short += [auc_text, "/".join(m if m == "-" else f"{float(m):.2f}" for m in means)]
        table.add_row(label, *short)
    for name, result in probes.items():
        if "skipped" in result:
            table.add_row(f"{name}: skipped", result["skipped"])
        for flag in result.get("flags", []):
            table.add_row(f"[red]{name}: drift[/red]", flag)
    return table
