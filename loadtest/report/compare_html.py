"""compare.html: a comparison's tables and verdicts, in the style of report.html, self-contained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from loadtest.report.html import redact
from loadtest.report.terminal import METRIC_NAMES, metric_value, mib, probe_rows

_TEMPLATES = Path(__file__).parent / "templates"


def _rows(entry: dict[str, Any]) -> list[dict[str, str]]:
    rows = [
        {
            "metric": d["metric"],
            "label": METRIC_NAMES[d["metric"]],
            "a": metric_value(d["metric"], d["a"]),
            "b": metric_value(d["metric"], d["b"]),
            "ratio": "-" if d["ratio"] is None else f"{d['ratio']:.2f}",
            "verdict": d["verdict"],
        }
        for d in entry["differences"]
    ]
    for metric, label, fmt in (
        ("oom_events", "OOM events", str),
        ("peak_gpu_mem_bytes", "peak GPU memory", mib),
        ("startup_s", "start-up s", lambda v: f"{v:.1f}"),
    ):
        va, vb = entry["a"][metric], entry["b"][metric]
        rows.append(
            {
                "metric": metric,
                "label": label,
                "a": "-" if va is None else fmt(va),
                "b": "-" if vb is None else fmt(vb),
                "ratio": "",
                "verdict": "",
            }
        )
    return rows


def _probe(probes: dict[str, Any]) -> dict[str, Any] | None:
    if not probes:
        return None
    notes = [
        {"level": "warn", "text": f"{name}: {result['skipped']}"}
        for name, result in probes.items()
        if "skipped" in result
    ] + [
        {"level": "bad", "text": f"{name}: {flag}"}
        for name, result in probes.items()
        for flag in result.get("flags", [])
    ]
    rows = [{"label": label, "cells": cells} for label, cells in probe_rows(probes)]
    return {"names": list(probes), "rows": rows, "notes": notes}


def write_compare_html(out: Path, result: dict[str, Any]) -> Path:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    banners = []
    for entry in result["scenarios"]:
        for side in ("a", "b"):
            if entry[side]["weights"] == "random":
                name = result[side]
                text = f"{name} ran with random weights: speed and memory figures only."
                banners.append({"kind": "random-weights", "level": "warn", "text": text})
    scenarios = [
        {
            **entry,
            "rows": _rows(entry),
            "a": {**entry["a"], "target": redact(entry["a"]["target"])},
            "b": {**entry["b"], "target": redact(entry["b"]["target"])},
        }
        for entry in result["scenarios"]
    ]
    page = env.get_template("compare.html.j2").render(
        r={**result, "scenarios": scenarios},
        banners=list({b["text"]: b for b in banners}.values()),
        probe=_probe(result.get("probe") or {}),
    )
    path = out / "compare.html"
    path.write_text(page, encoding="utf-8")
    return path
