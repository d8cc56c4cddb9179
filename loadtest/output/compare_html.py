"""compare.html: a comparison's decision table, deployment facts, Pareto chart and quality
section, in the style of report.html, self-contained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from loadtest.analysis.compare import quality_score
from loadtest.core.comparisons import Comparison
from loadtest.output.charts import pareto_chart
from loadtest.output.decision import (
    DECISION_METRICS,
    DEPLOYMENT_HEADS,
    METRIC_HEADS,
    deployment_rows,
    scenario_rows,
    verdict_lines,
)
from loadtest.output.quality_html import quality_section
from loadtest.store.files import COMPARE_HTML
from loadtest.target.url import redact

_TEMPLATES = Path(__file__).parent / "templates"
_SPEED = {
    "capacity": "max req/s within the SLO",
    "cost": "USD per 1M tokens at capacity (less is better)",
}


def _banners(result: Comparison) -> list[dict[str, str]]:
    banners = []
    for c in result.candidates:
        if c.weights == "random":
            text = f"{c.name} ran with random weights: speed and memory figures only."
            banners.append({"kind": "random-weights", "level": "warn", "text": text})
        if c.not_measured:
            text = f"{c.name} was not measured: {c.not_measured}"
            banners.append({"kind": "not-measured", "level": "bad", "text": text})
    return banners


def _chart(result: Comparison) -> str | None:
    """Quality against capacity (or cost), the front marked; None without a front."""
    if result.pareto is None:
        return None
    front = set(result.pareto.front)
    points = []
    for c in result.candidates:
        quality = quality_score(c)
        if c.capacity is None or quality is None:
            continue
        speed = (
            c.capacity.usd_per_1m_tokens
            if result.pareto.speed == "cost"
            else c.capacity.max_rps_within_slo
        )
        points.append((c.name, speed or 0.0, quality, c.name in front))
    return pareto_chart(points, _SPEED[result.pareto.speed])


def write_compare_html(out: Path, result: Comparison) -> Path:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    scenarios: list[dict[str, Any]] = [
        {
            "scenario": entry.scenario,
            "rows": scenario_rows(entry),
            "verdicts": verdict_lines(entry),
            "sides": [
                {
                    "name": s.candidate,
                    "target": redact(s.target),
                    "model": s.model,
                    "weights": s.weights,
                    "run_dirs": s.run_dirs,
                }
                for s in entry.sides
            ],
        }
        for entry in result.scenarios
    ]
    page = env.get_template("compare.html.j2").render(
        r=result,
        title=" vs ".join(result.names),
        heads=[METRIC_HEADS[m] for m in DECISION_METRICS],
        scenarios=scenarios,
        banners=_banners(result),
        deployment_heads=DEPLOYMENT_HEADS,
        deployment=deployment_rows(result),
        chart=_chart(result),
        quality=quality_section(
            result.qualities_by_name(), result.agreements(), result.probes_by_name()
        ),
    )
    path = out / COMPARE_HTML
    path.write_text(page, encoding="utf-8")
    return path
