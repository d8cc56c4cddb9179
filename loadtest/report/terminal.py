"""Rich tables of a run's summary: the overall figures, then one row per category."""

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


def summary_table(summary: dict[str, Any], run_dir: str) -> Table:
    title = (
        f"{summary['scenario']} · {summary['users']} users · {summary['duration_s']:.1f} s · "
        f"{summary['model'] or 'model unnamed'} @ {summary['target']}"
    )
    table = Table(
        title=title,
        caption=f"latency in ms over successful requests · run: {run_dir}",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("", no_wrap=True)
    for name in _COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_row(*_row("all", summary), style="bold")
    for category, fig in summary["by_category"].items():
        table.add_row(*_row(category, fig))
    return table


def print_summary(console: Console, summary: dict[str, Any], run_dir: str) -> None:
    console.print(summary_table(summary, run_dir))
    kinds = {k: v for k, v in summary["errors"].items() if v}
    if kinds:
        listed = ", ".join(f"{k} {v:,}" for k, v in kinds.items())
        console.print(f"[red]errors:[/red] {listed}")
        for kind, messages in summary.get("error_samples", {}).items():
            console.print(f"  {kind}: {messages[0]}", markup=False, highlight=False)
