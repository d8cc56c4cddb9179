"""report.html: one self-contained page a person reviews, rendered from a run directory's files.

Figures come from summary.json as the run wrote it (so the page and the file agree to the
digit); charts come from records.jsonl, gpu.jsonl and process.jsonl, binned first. Everything
is inline: CSS, SVG charts, no script, no font or image from elsewhere. Summaries never hold an
API key, and targets are shown with any user:password removed.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from loadtest import __version__
from loadtest.core import series
from loadtest.report import charts
from loadtest.report.terminal import fmt_ms, mib
from loadtest.store import (
    REPORT,
    read_gpu_samples,
    read_process_samples,
    read_record_columns,
    read_summary,
)

_TEMPLATES = Path(__file__).parent / "templates"


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def redact(url: str) -> str:
    """A URL without its user:password part."""
    return re.sub(r"//[^/@]*@", "//", url)


def _card(
    key: str, label: str, value: str, unit: str = "", note: str = "", bad: bool = False
) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value, "unit": unit, "note": note, "bad": bad}


def _cards(s: dict[str, Any]) -> list[dict[str, Any]]:
    lat = s["latency_ms"]
    gpu = s.get("gpu")
    events = s.get("oom_events") or []
    cards = [
        _card("p50", "P50", fmt_ms(lat["p50"]), "ms"),
        _card("p90", "P90", fmt_ms(lat["p90"]), "ms"),
        _card("p99", "P99", fmt_ms(lat["p99"]), "ms"),
        _card("qps", "QPS", _rate(s["qps"]), "req/s"),
        _card("inputs", "Inputs/s", _rate(s["inputs_per_s"]), "texts/s"),
        _card("tokens", "Tokens/s", _rate(s["tokens_per_s"])),
        _card(
            "errors",
            "Error rate",
            f"{s['error_rate']:.2%}",
            note=f"{s['requests'] - s['ok']:,} of {s['requests']:,}",
            bad=s["error_rate"] > 0,
        ),
        _card("oom", "OOM events", str(len(events)), bad=bool(events)),
    ]
    if gpu:
        of_total = f"{gpu['peak_mem_fraction']:.0%} of {mib(gpu['mem_total_bytes'])}"
        peak = mib(gpu["peak_mem_used_bytes"])
        cards.append(_card("gpu", "Peak GPU memory", peak, note=f"{of_total} · {gpu['name']}"))
    else:
        reason = s.get("gpu_unavailable") or "not sampled"
        cards.append(_card("gpu", "Peak GPU memory", "-", note=f"no GPU telemetry: {reason}"))
    return cards


def _banner(kind: str, level: str, text: str) -> dict[str, str]:
    return {"kind": kind, "level": level, "text": text}


def _banners(s: dict[str, Any]) -> list[dict[str, str]]:
    banners = []
    failed = s["requests"] - s["ok"]
    if failed:
        by_kind = ", ".join(f"{k} {v:,}" for k, v in s["errors"].items() if v)
        banners.append(_banner("errors", "bad", f"{failed:,} requests failed: {by_kind}"))
    events = s.get("oom_events") or []
    if events:
        kinds = ", ".join(sorted({e["kind"] for e in events}))
        text = f"{len(events)} out-of-memory or crash events: {kinds}"
        banners.append(_banner("oom", "bad", text))
    card = s.get("server_model") or {}
    if card.get("weights") == "random":
        text = "The server ran with random weights: speed and memory figures only."
        banners.append(_banner("random-weights", "warn", text))
    if not s["requests"]:
        banners.append(_banner("empty", "warn", "No request was recorded."))
    return banners


def _row(label: str, fig: dict[str, Any], total: bool = False) -> dict[str, Any]:
    lat = fig["latency_ms"]
    return {
        "label": label,
        "total": total,
        "requests": f"{fig['requests']:,}",
        "ok": f"{fig['ok']:,}",
        **{k: fmt_ms(lat[k]) for k in ("p50", "p90", "p99", "p999", "max", "mean")},
        "qps": _rate(fig["qps"]),
        "tokens": _rate(fig["tokens_per_s"]),
    }


def _percentile_groups(s: dict[str, Any]) -> list[dict[str, Any]]:
    groups = [{"rows": [_row("all", s, total=True)]}]
    groups.append({"rows": [_row(k, v) for k, v in s["by_category"].items()]})
    groups.append({"rows": [_row(f"length {k}", v) for k, v in s["by_bucket"].items()]})
    return groups


def _errors(s: dict[str, Any]) -> list[dict[str, Any]]:
    samples = s.get("error_samples") or {}
    return [
        {
            "kind": kind,
            "count": f"{count:,}",
            "share": f"{count / s['requests']:.2%}",
            "samples": samples.get(kind, [])[:3],
        }
        for kind, count in s["errors"].items()
        if count
    ]


def _config(s: dict[str, Any], run_dir: Path) -> list[tuple[str, str]]:
    env = s.get("environment") or {}
    card = s.get("server_model") or {}
    startup = s.get("startup") or {}
    gpu = s.get("gpu") or {}
    model = str(s["model"])
    if card.get("weights"):
        model += f" (weights: {card['weights']}, device: {card.get('device')})"
    users = f"{s['users']} users, {s['inputs_per_request']} inputs per request"
    rows = [
        ("run directory", str(run_dir.resolve())),
        ("scenario", f"{s['scenario']}, {users}"),
        ("target", redact(s["target"])),
        ("model", model),
        ("encoding_format", str(s.get("encoding_format"))),
        ("dimensions", str(s.get("dimensions") or "the model's own")),
        ("corpus, seed", f"{s.get('corpus')}, seed {s.get('seed')}"),
        ("started", str(s.get("started_at"))),
        ("GPU", gpu.get("name") or f"none sampled ({s.get('gpu_unavailable') or 'no telemetry'})"),
    ]
    if startup:
        loaded = startup.get("model_loaded_s")
        idle = f"idle RSS {mib(startup.get('idle_rss_bytes'))}"
        if startup.get("idle_gpu_mem_bytes") is not None:
            idle += f", GPU {mib(startup['idle_gpu_mem_bytes'])}"
        rows.append(("server command", str(startup.get("command"))))
        rows.append(
            (
                "server start-up",
                f"model loaded {'-' if loaded is None else f'{loaded:.1f}'} s, /health ready "
                f"{startup['ready_s']:.1f} s after launch; {idle}",
            )
        )
    if env:
        packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
        rows.append(("load generator", f"{env.get('host')}, {env.get('cpus')} CPUs"))
        rows.append(("platform", str(env.get("platform"))))
        rows.append(("Python", str(env.get("python"))))
        rows.append(("packages", f"embload {env.get('embload')}, {packages}"))
    return rows


def _chart(key: str, title: str, svg: str, caption: str) -> dict[str, str]:
    return {"key": key, "title": title, "svg": svg, "caption": caption}


_EVENTS_RED = "red: OOM or crash events"


def _charts(
    s: dict[str, Any], run_dir: Path, cols: series.RecordColumns, t0: float
) -> list[dict[str, str]]:
    events = s.get("oom_events") or []
    out = []
    if len(cols):
        w = series.windows(cols, t0)
        out.append(
            _chart(
                "latency-over-time",
                "Latency over time",
                charts.latency_over_time(w),
                f"P50 and P99 of the requests sent in each {w.width_s:g} s window; "
                "grey: users that sent a request in it.",
            )
        )
        out.append(
            _chart(
                "throughput-over-time",
                "Throughput over time",
                charts.throughput_over_time(w),
                f"Requests completed per second, in {w.width_s:g} s windows.",
            )
        )
    ok_latency = cols.latency_s[cols.ok]
    if ok_latency.size:
        lat_ms, frac = series.latency_cdf(ok_latency)
        marks = {k.upper(): v for k, v in s["latency_ms"].items() if k in ("p50", "p99") and v}
        out.append(
            _chart(
                "latency-cdf",
                "Latency distribution",
                charts.latency_cdf(lat_ms, frac, marks),
                f"Share of the {ok_latency.size:,} successful requests at or below each latency.",
            )
        )
        out.append(
            _chart(
                "latency-by-length",
                "Latency by input length",
                charts.latency_by_length(series.latency_by_length(cols)),
                "Successful requests in log-spaced bins of total characters per request.",
            )
        )
    gpu = read_gpu_samples(run_dir)
    if gpu:
        out.append(
            _chart(
                "gpu",
                "GPU memory and utilization",
                charts.gpu_over_time(gpu, t0, events),
                f"Peak memory and mean utilization per 1 s; dashed: total memory; {_EVENTS_RED}.",
            )
        )
    procs = read_process_samples(run_dir)
    if procs:
        out.append(
            _chart(
                "process",
                f"Server process {procs[0].pid}: memory and CPU",
                charts.process_over_time(procs, t0, events),
                f"Resident memory and CPU of the server (100% = one core); {_EVENTS_RED}.",
            )
        )
    return out


def render_report(run_dir: Path) -> str:
    s = read_summary(run_dir)
    cols = read_record_columns(run_dir)
    # Runs written before started_at_unix existed: the first request is the start.
    first = float(cols.start_time.min()) if len(cols) else 0.0
    t0 = float(s.get("started_at_unix") or first)
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["j2", "html"])
    )
    started = s.get("started_at") or ""
    with contextlib.suppress(ValueError):
        started = datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return env.get_template("report.html.j2").render(
        s={**s, "target": redact(s["target"])},
        started=started,
        banners=_banners(s),
        cards=_cards(s),
        percentile_groups=_percentile_groups(s),
        charts=_charts(s, run_dir, cols, t0),
        errors=_errors(s),
        oom_events=[
            {"at": f"{e['time'] - t0:.1f}", "kind": e["kind"], "evidence": e["evidence"]}
            for e in s.get("oom_events") or []
        ],
        config=_config(s, run_dir),
        version=__version__,
        run_dir_name=run_dir.name,
    )


def write_report(run_dir: Path) -> Path:
    """Render `run_dir`'s files into `run_dir/report.html`, written whole then renamed."""
    path = run_dir / REPORT
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(run_dir), encoding="utf-8")
    tmp.replace(path)
    return path
