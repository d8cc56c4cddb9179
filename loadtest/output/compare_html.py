"""compare.html: a comparison's tables and verdicts, in the style of report.html, self-contained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from loadtest.core.comparisons import Comparison, ProbeResult, Separation
from loadtest.output.formats import compare_rows, probe_notes, probe_rows
from loadtest.store.files import COMPARE_HTML
from loadtest.target.url import redact

_TEMPLATES = Path(__file__).parent / "templates"


def _separation_cells(sep: Separation | None) -> list[str]:
    if sep is None:
        return ["-", "-", "-"]
    related = "-" if sep.related is None else f"{sep.related.mean:.3f} ± {sep.related.std:.3f}"
    unrelated = f"{sep.unrelated.mean:.3f} ± {sep.unrelated.std:.3f}"
    return [related, unrelated, "" if sep.auc is None else f"{sep.auc:.2f}"]


def _probe(probes: dict[str, ProbeResult]) -> dict[str, Any] | None:
    if not probes:
        return None
    rows = []
    for row in probe_rows(probes):
        cells = [c for sep in row.separation or [] for c in _separation_cells(sep)]
        for value in row.cosine or []:
            cells += ["-" if value is None else f"{value:.6f}", "", ""]
        rows.append({"label": row.label, "cells": cells})
    notes = [{"level": level, "text": text} for level, text in probe_notes(probes)]
    return {"names": list(probes), "rows": rows, "notes": notes}


def write_compare_html(out: Path, result: Comparison) -> Path:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    banners: dict[str, dict[str, str]] = {}
    for entry in result.scenarios:
        for name, side in ((result.a, entry.a), (result.b, entry.b)):
            if side.weights == "random":
                text = f"{name} ran with random weights: speed and memory figures only."
                banners[text] = {"kind": "random-weights", "level": "warn", "text": text}
    scenarios = [
        {
            "scenario": entry.scenario,
            "rows": compare_rows(entry),
            "a": entry.a.model_copy(update={"target": redact(entry.a.target)}),
            "b": entry.b.model_copy(update={"target": redact(entry.b.target)}),
        }
        for entry in result.scenarios
    ]
    page = env.get_template("compare.html.j2").render(
        r=result,
        scenarios=scenarios,
        banners=list(banners.values()),
        probe=_probe(result.probes_by_name()),
    )
    path = out / COMPARE_HTML
    path.write_text(page, encoding="utf-8")
    return path
