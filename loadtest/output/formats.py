"""How figures read in every report, terminal and HTML alike: milliseconds, rates, MiB, percents,
URLs without credentials, and the rows of a comparison and of a quality probe."""

from __future__ import annotations

from dataclasses import dataclass

from loadtest.core.comparisons import Consistency, ProbeResult, ScenarioComparison, Separation
from loadtest.core.results import METRICS


def number(value: float | None) -> str:
    """Milliseconds and rates alike: 2 decimals under 10, 1 under 100, whole numbers above."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def mib(n_bytes: float | None) -> str:
    return "-" if n_bytes is None else f"{n_bytes / (1 << 20):,.0f} MiB"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def metric_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2%}" if metric == "error_rate" else number(value)


@dataclass(frozen=True)
class CompareRow:
    metric: str
    label: str
    a: str
    b: str
    ratio: str  # "" for the rows without a verdict
    verdict: str


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4g}"


def compare_rows(entry: ScenarioComparison) -> list[CompareRow]:
    """A scenario's comparison: each metric with its verdict, then memory and start-up."""
    rows = [
        CompareRow(
            d.metric,
            METRICS[d.metric].label + (" ms" if METRICS[d.metric].unit == "ms" else ""),
            metric_value(d.metric, d.a),
            metric_value(d.metric, d.b),
            "-" if d.ratio is None else f"{d.ratio:.2f}",
            d.verdict,
        )
        for d in entry.differences
    ]
    a, b = entry.a, entry.b
    rows.append(
        CompareRow("oom_events", "OOM events", str(a.oom_events), str(b.oom_events), "", "")
    )
    rows.append(
        CompareRow(
            "peak_gpu_mem_bytes",
            "peak GPU",
            mib(a.peak_gpu_mem_bytes),
            mib(b.peak_gpu_mem_bytes),
            "",
            "",
        )
    )
    if a.cost is not None or b.cost is not None:
        rows.append(
            CompareRow(
                "usd_per_1m_tokens",
                "USD / 1M tokens",
                usd(a.cost.usd_per_1m_tokens if a.cost else None),
                usd(b.cost.usd_per_1m_tokens if b.cost else None),
                "",
                "",
            )
        )
    if a.startup_s is not None or b.startup_s is not None:
        rows.append(
            CompareRow(
                "startup_s", "start-up s", seconds(a.startup_s), seconds(b.startup_s), "", ""
            )
        )
    return rows


@dataclass(frozen=True)
class ProbeRow:
    """One line of the probe table: a category's separation per target, or a consistency
    cosine per target (None where a target was not probed or the figure was not measured)."""

    label: str
    separation: list[Separation | None] | None
    cosine: list[float | None] | None


_CONSISTENCY = (
    ("same_text", "same text twice"),
    ("in_batch", "alone vs in batch of 64"),
    ("under_load_worst", "worst during the runs"),
    ("burst_worst", "worst in a 64-way burst"),
)


def probe_rows(probes: dict[str, ProbeResult]) -> list[ProbeRow]:
    results = list(probes.values())
    categories = next((list(r.separation) for r in results if r.separation), [])
    rows = [
        ProbeRow(category, [r.separation.get(category) for r in results], None)
        for category in categories
    ]
    for key, label in _CONSISTENCY:
        values = [_consistency(r.consistency, key) for r in results]
        rows.append(ProbeRow(label, None, values))
    return rows


def _consistency(figures: Consistency | None, key: str) -> float | None:
    if figures is None:
        return None
    value: float | None = getattr(figures, key)
    return value


def probe_notes(probes: dict[str, ProbeResult]) -> list[tuple[str, str]]:
    """(level, text): targets not probed, and drift flags."""
    notes = [("warn", f"{n}: {r.skipped}") for n, r in probes.items() if r.skipped]
    return notes + [("bad", f"{n}: {flag}") for n, r in probes.items() for flag in r.flags]
