"""sweep.html: a sweep's answer, its latency-throughput curve with the SLO and the knee, and
every step linked to its own report. Self-contained, like report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from loadtest.core.errors import ThresholdError
from loadtest.core.sweep import SweepResult, SweepStep
from loadtest.core.thresholds import parse_thresholds
from loadtest.output.charts import sweep_curve
from loadtest.output.formats import metric_value, number
from loadtest.store.files import SWEEP_HTML
from loadtest.target.url import redact

_TEMPLATES = Path(__file__).parent / "templates"
_LOAD = {"rates": "offered req/s", "users": "users", "batch": "texts per request"}


def _slo_ms(slo: str | None) -> float | None:
    """The SLO's P99 limit (else its tightest latency limit), to draw as a line."""
    try:
        limits = parse_thresholds(slo) if slo else []
    except ThresholdError:
        return None
    latency = {t.metric: t.limit for t in limits if t.metric.startswith("p")}
    return latency.get("p99") or min(latency.values(), default=None)


def _label(step: SweepStep, kind: str) -> str:
    return f"{step.load:g}" + {"rates": "/s", "users": "u", "batch": "x"}[kind]


def _cards(r: SweepResult) -> list[dict[str, Any]]:
    cards = []
    if r.slo and r.kind == "rates":
        held = r.max_rps_within_slo
        cards.append(
            {
                "key": "max_rps_within_slo",
                "label": "highest rate within the SLO",
                "value": "none" if held is None else f"{held:g} req/s",
                "note": r.slo,
                "bad": held is None,
            }
        )
    if r.best_batch is not None:
        best = r.answer
        note = f"{best.inputs_per_s:,.1f} inputs/s" if best else ""
        cards.append(
            {"key": "best_batch", "label": "best batch", "value": r.best_batch, "note": note}
        )
    if r.kind != "batch":
        cards.append(
            {
                "key": "knee",
                "label": "knee",
                "value": "none seen" if r.knee is None else _label_of(r.knee.load, r.kind),
                "note": r.knee.reason if r.knee else "no step showed saturation",
            }
        )
    if r.baseline is not None:
        cards.append(
            {
                "key": "baseline",
                "label": "one user",
                "value": f"{number(r.baseline.qps)} req/s",
                "note": f"P99 {number(r.baseline.p99_ms)} ms",
            }
        )
    return cards


def _label_of(load: float, kind: str) -> str:
    return {"rates": f"{load:g} req/s", "users": f"{load:g} users", "batch": f"{load:g}"}[kind]


def write_sweep_html(out: Path, r: SweepResult) -> Path:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    steps = [*([r.baseline] if r.baseline else []), *r.steps]

    def x_of(s: SweepStep) -> float:
        return s.inputs_per_s if r.kind == "batch" else s.qps

    knee = next((s for s in r.steps if r.knee and s.load == r.knee.load), None)
    curve = sweep_curve(
        [
            (_label(s, r.kind), x_of(s), s.p50_ms, s.p99_ms)
            for s in sorted(r.steps, key=lambda s: s.load)
        ],
        "inputs embedded per second" if r.kind == "batch" else "successful requests per second",
        _slo_ms(r.slo),
        _label(knee, r.kind) if knee else None,
    )
    verdict = {None: "", True: "held", False: "crossed"}
    rows = [
        {
            "name": s.run_dir,
            "answer": r.answer is not None and s.run_dir == r.answer.run_dir,
            "cells": [
                f"{s.load:g}" if s is not r.baseline else "1 user (closed loop)",
                f"{s.requests:,}",
                f"{s.error_rate:.2%}",
                number(s.qps),
                number(s.inputs_per_s),
                number(s.achieved_rps),
                number(s.p50_ms),
                number(s.p99_ms),
                f"{s.late:,}",
                f"{s.dropped:,}",
                verdict[s.within_slo],
            ],
        }
        for s in steps
    ]
    page = env.get_template("sweep.html.j2").render(
        r=r,
        target=redact(r.target),
        cards=_cards(r),
        curve=curve,
        rows=rows,
        load_label=_LOAD[r.kind],
        thresholds=[
            {"text": v.threshold, "value": metric_value(v.metric, v.value), "held": v.held}
            for v in r.thresholds
        ],
    )
    path = out / SWEEP_HTML
    path.write_text(page, encoding="utf-8")
    return path
