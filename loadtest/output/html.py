"""report.html: one self-contained page a person reviews, rendered from a run directory's files.

Figures come from summary.json as the run wrote it (so the page and the file agree to the
digit); charts come from records.jsonl, gpu.jsonl and process.jsonl, binned first. Everything
is inline: CSS, SVG charts, no script, no font or image from elsewhere. Summaries never hold an
API key, and targets are shown with any user:password removed.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape

from loadtest import __version__
from loadtest.core import series
from loadtest.core.columns import RecordColumns
from loadtest.core.errors import HistoryError
from loadtest.core.results import Figures, RunSummary
from loadtest.core.types import QUEUE_GAUGES, MetricSample
from loadtest.output import charts
from loadtest.output.formats import mib, number, usd
from loadtest.output.stability_html import report_sections
from loadtest.store.files import (
    REPORT,
    read_gpu_samples,
    read_process_samples,
    read_server_metrics,
    read_summary,
)
from loadtest.store.history import Entry, entries, load_key
from loadtest.store.table import read_columns
from loadtest.target.url import redact

_TEMPLATES = Path(__file__).parent / "templates"


def _card(
    key: str, label: str, value: str, unit: str = "", note: str = "", bad: bool = False
) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value, "unit": unit, "note": note, "bad": bad}


def _cards(s: RunSummary) -> list[dict[str, Any]]:
    lat = s.latency_ms
    gpu = s.gpu
    cards = [
        _card("p50", "P50", number(lat.p50), "ms"),
        _card("p90", "P90", number(lat.p90), "ms"),
        _card("p99", "P99", number(lat.p99), "ms"),
        _card("qps", "QPS", number(s.qps), "req/s"),
        _card("inputs", "Inputs/s", number(s.inputs_per_s), "texts/s"),
        _card("tokens", "Tokens/s", number(s.tokens_per_s)),
        _card(
            "errors",
            "Error rate",
            f"{s.error_rate:.2%}",
            note=f"{s.requests - s.ok:,} of {s.requests:,}",
            bad=s.error_rate > 0,
        ),
        _card("oom", "OOM events", str(len(s.oom_events)), bad=bool(s.oom_events)),
    ]
    if gpu:
        of_total = f"{gpu.peak_mem_fraction or 0:.0%} of {mib(gpu.mem_total_bytes)}"
        peak = mib(gpu.peak_mem_used_bytes)
        cards.append(_card("gpu", "Peak GPU memory", peak, note=f"{of_total} · {gpu.name}"))
    else:
        reason = s.gpu_unavailable or "not sampled"
        cards.append(_card("gpu", "Peak GPU memory", "-", note=f"no GPU telemetry: {reason}"))
    return cards


def _banner(kind: str, level: str, text: str) -> dict[str, str]:
    return {"kind": kind, "level": level, "text": text}


def _banners(s: RunSummary) -> list[dict[str, str]]:
    banners = []
    if s.interrupted:
        text = (
            f"Interrupted by {s.interrupted} after {s.duration_s:.1f} s: "
            "the figures are of the part that ran."
        )
        banners.append(_banner("interrupted", "warn", text))
    failed = s.requests - s.ok
    if failed:
        by_kind = ", ".join(f"{k.value} {v:,}" for k, v in s.errors.items() if v)
        banners.append(_banner("errors", "bad", f"{failed:,} requests failed: {by_kind}"))
    if s.oom_events:
        kinds = ", ".join(sorted({e.kind.value for e in s.oom_events}))
        text = f"{len(s.oom_events)} out-of-memory or crash events: {kinds}"
        banners.append(_banner("oom", "bad", text))
    if s.server_model is not None and s.server_model.weights == "random":
        text = "The server ran with random weights: speed and memory figures only."
        banners.append(_banner("random-weights", "warn", text))
    if not s.requests:
        banners.append(_banner("empty", "warn", "No request was recorded."))
    return banners


def _row(label: str, fig: Figures, total: bool = False) -> dict[str, Any]:
    lat = fig.latency_ms
    return {
        "label": label,
        "total": total,
        "requests": f"{fig.requests:,}",
        "ok": f"{fig.ok:,}",
        **{k: number(getattr(lat, k)) for k in ("p50", "p90", "p99", "p999", "max", "mean")},
        "qps": number(fig.qps),
        "tokens": number(fig.tokens_per_s),
    }


def _percentile_groups(s: RunSummary) -> list[dict[str, Any]]:
    groups = [{"rows": [_row("all", s, total=True)]}]
    groups.append({"rows": [_row(k, v) for k, v in s.by_category.items()]})
    groups.append({"rows": [_row(f"length {k}", v) for k, v in s.by_bucket.items()]})
    return groups


def _errors(s: RunSummary) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind.value,
            "count": f"{count:,}",
            "share": f"{count / s.requests:.2%}",
            "samples": s.error_samples.get(kind, [])[:3],
        }
        for kind, count in s.errors.items()
        if count
    ]


def _server_rows(s: RunSummary) -> list[tuple[str, str]]:
    rows = []
    card = s.server_model
    if card is not None and card.truncate is not None and card.max_input_tokens:
        verb = "cut to" if card.truncate else "refused (400) past"
        rows.append(("server input limit", f"inputs {verb} {card.max_input_tokens:,} tokens"))
    startup = s.startup
    if startup is not None:
        loaded = "-" if startup.model_loaded_s is None else f"{startup.model_loaded_s:.1f}"
        idle = f"idle RSS {mib(startup.idle_rss_bytes)}"
        if startup.idle_gpu_mem_bytes is not None:
            idle += f", GPU {mib(startup.idle_gpu_mem_bytes)}"
        rows.append(("server command", startup.command))
        rows.append(
            (
                "server start-up",
                f"model loaded {loaded} s, /health ready {startup.ready_s:.1f} s after launch; "
                f"{idle}",
            )
        )
    return rows


def _config(s: RunSummary, run_dir: Path) -> list[tuple[str, str]]:
    env, card = s.environment, s.server_model
    model = str(s.model)
    if card is not None and card.weights:
        quantized = f", quantized {card.quantize}" if card.quantize else ""
        memory = f", {mib(card.weight_bytes)} of weights" if card.weight_bytes else ""
        model += f" (weights: {card.weights}, device: {card.device}{quantized}{memory})"
    users = f"{s.users} users, {s.inputs_per_request} inputs per request"
    gpu = s.gpu.name if s.gpu else f"none sampled ({s.gpu_unavailable or 'no telemetry'})"
    packages = ", ".join(f"{k} {v}" for k, v in env.packages.items() if v)
    return [
        ("run directory", str(run_dir.resolve())),
        ("scenario", f"{s.scenario}, {users}"),
        ("target", redact(s.target)),
        ("route", f"{redact(s.route or s.target)} ({s.dialect})"),
        ("model", model),
        ("encoding_format", s.encoding_format),
        ("dimensions", str(s.dimensions or "the model's own")),
        ("corpus, seed", f"{s.corpus}, seed {s.seed}"),
        ("started", s.started_at),
        ("GPU", gpu),
        *_server_rows(s),
        *_cost_rows(s),
        ("load generator", f"{env.host}, {env.cpus} CPUs"),
        ("platform", env.platform),
        ("Python", env.python),
        ("packages", f"embload {env.embload}, {packages}"),
    ]


def _queue_gauges(
    samples: list[MetricSample], t0: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """TEI's, vLLM's, sglang's or the bundled server's queue and batch gauges: per name, the
    scrape times (from t0) and the value summed over labels (vLLM labels by model)."""
    sums: dict[str, dict[float, float]] = {}
    for m in samples:
        if m.name in QUEUE_GAUGES:
            at = sums.setdefault(m.name, {})
            at[m.time] = at.get(m.time, 0.0) + m.value
    return {
        name: (np.array(sorted(at)) - t0, np.array([at[t] for t in sorted(at)]))
        for name, at in sorted(sums.items(), key=lambda kv: QUEUE_GAUGES.index(kv[0]))
    }


def _cost_rows(s: RunSummary) -> list[tuple[str, str]]:
    c = s.cost
    if c is None:
        return []
    per = f"{usd(c.usd_per_1m_tokens)} / 1M tokens, {usd(c.usd_per_1m_inputs)} / 1M inputs"
    return [
        ("cost", f"at ${c.usd_per_hour:g}/h: {per}, {usd(c.usd_per_1m_requests)} / 1M requests")
    ]


_EVENTS_RED = "red: OOM or crash events"


def _charts(s: RunSummary, run_dir: Path, cols: RecordColumns, t0: float) -> list[dict[str, str]]:
    events = s.oom_events
    out = []
    if len(cols):
        w = series.windows(cols, t0)
        out.append(
            charts.chart(
                "latency-over-time",
                "Latency over time",
                charts.latency_over_time(w),
                f"P50 and P99 of the requests sent in each {w.width_s:g} s window; "
                "grey: users that sent a request in it.",
            )
        )
        out.append(
            charts.chart(
                "throughput-over-time",
                "Throughput over time",
                charts.throughput_over_time(w),
                f"Requests completed per second, in {w.width_s:g} s windows.",
            )
        )
    ok_latency = cols.latency_s[cols.ok]
    if ok_latency.size:
        lat_ms, frac = series.latency_cdf(ok_latency)
        marks = {k.upper(): v for k in ("p50", "p99") if (v := getattr(s.latency_ms, k))}
        out.append(
            charts.chart(
                "latency-cdf",
                "Latency distribution",
                charts.latency_cdf(lat_ms, frac, marks),
                f"Share of the {ok_latency.size:,} successful requests at or below each latency.",
            )
        )
        out.append(
            charts.chart(
                "latency-by-length",
                "Latency by input length",
                charts.latency_by_length(series.latency_by_length(cols)),
                "Successful requests in log-spaced bins of total characters per request.",
            )
        )
    clock = s.server_time_ms
    if clock is not None:
        parts = {
            "queue": clock.queue,
            "tokenization": clock.tokenization,
            "inference": clock.inference,
            "network and client": clock.rest,
        }
        out.append(
            charts.chart(
                "server-time",
                "Where the time went, by the server's clock",
                charts.server_time({k: (v.p50 or 0.0, v.p99 or 0.0) for k, v in parts.items()}),
                f"The server's own timing headers on {clock.requests:,} replies (queue, "
                "tokenization, inference) and the latency left outside its total (network "
                "and client), each by its own P50 and P99: stacked P99s need not add up to "
                "the latency's P99.",
            )
        )
    gpu = read_gpu_samples(run_dir)
    if gpu:
        out.append(
            charts.chart(
                "gpu",
                "GPU memory and utilization",
                charts.gpu_over_time(gpu, t0, events),
                f"Peak memory and mean utilization per 1 s; dashed: total memory; {_EVENTS_RED}.",
            )
        )
    gauges = _queue_gauges(read_server_metrics(run_dir), t0)
    if gauges:
        out.append(
            charts.chart(
                "server-metrics",
                "The server's queue and batch, by its own metrics",
                charts.server_gauges(gauges),
                "Gauges from the server's /metrics, scraped every second "
                "(server_metrics.jsonl), summed over their labels.",
            )
        )
    procs = read_process_samples(run_dir)
    if procs:
        out.append(
            charts.chart(
                "process",
                f"Server process {procs[0].pid}: memory and CPU",
                charts.process_over_time(procs, t0, events),
                f"Resident memory and CPU of the server (100% = one core); {_EVENTS_RED}.",
            )
        )
    return out


_TREND_RUNS = 20


def _trend(s: RunSummary, run_dir: Path) -> list[dict[str, str]]:
    """The runs comparable with this one (same target, scenario and load), from the index,
    up to this one: the target's trend, each linked to its report."""
    if s.history is None or not Path(s.history).is_file():
        return []
    key, here = load_key(s), str(run_dir.resolve())
    try:
        runs = [e for e in entries(Path(s.history)) if e.kind == "run" and e.load_key == key]
    except HistoryError:
        return []
    upto = next((i for i, e in enumerate(runs) if e.dir == here), len(runs) - 1)
    rows = []
    for e in runs[max(0, upto + 1 - _TREND_RUNS) : upto + 1]:
        rows.append(
            {
                "when": datetime.fromtimestamp(e.started_at_unix).strftime("%Y-%m-%d %H:%M"),
                "href": os.path.relpath(Path(e.dir) / REPORT, run_dir),
                "this": "this run" if e.dir == here else "",
                "p50": number(e.p50_ms),
                "p99": number(e.p99_ms),
                "qps": number(e.qps),
                "errors": "-" if e.requests is None or e.ok is None else f"{e.requests - e.ok:,}",
                "verdict": _verdict(e),
            }
        )
    return rows


def _verdict(e: Entry) -> str:
    if e.note:
        return e.note
    if e.regression is None:
        return "not judged yet (embload history)"
    return "; ".join(e.regression) if e.regression else "no regression"


def render_report(
    run_dir: Path, summary: RunSummary | None = None, columns: RecordColumns | None = None
) -> str:
    """The page of `run_dir`; `summary` and `columns` as the run's end has them in hand (else
    read: the timing columns not, their figures are in summary.json)."""
    s = summary or read_summary(run_dir)
    cols = columns if columns is not None else read_columns(run_dir, timing=False)
    t0 = s.started_at_unix
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    started = s.started_at
    with contextlib.suppress(ValueError):
        started = datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return env.get_template("report.html.j2").render(
        s=s.model_copy(update={"target": redact(s.target)}),
        started=started,
        banners=_banners(s),
        cards=_cards(s),
        percentile_groups=_percentile_groups(s),
        charts=_charts(s, run_dir, cols, t0),
        **report_sections(s, run_dir, cols),
        errors=_errors(s),
        oom_events=[
            {"at": f"{e.time - t0:.1f}", "kind": e.kind.value, "evidence": e.evidence}
            for e in s.oom_events
        ],
        config=_config(s, run_dir),
        trend=_trend(s, run_dir),
        version=__version__,
        run_dir_name=run_dir.name,
    )


def write_report(
    run_dir: Path, summary: RunSummary | None = None, columns: RecordColumns | None = None
) -> Path:
    """Render `run_dir`'s files into `run_dir/report.html`, written whole then renamed."""
    path = run_dir / REPORT
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(run_dir, summary, columns), encoding="utf-8")
    tmp.replace(path)
    return path
