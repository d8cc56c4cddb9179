"""The report's charts: matplotlib figures from binned series, as inline SVG.

Every chart draws a few hundred points at most (see core/series.py), so a run of a million
requests renders as fast as one of a thousand. The SVG is cut down to the `<svg>` element,
without its XML prolog, DOCTYPE, metadata or namespace URLs: inline SVG in HTML needs none of
them, and the report must reference nothing outside itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from loadtest.core.series import LengthBins, Windows
from loadtest.core.types import GpuSample, OomEvent, ProcessSample

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_INK, _MUTED, _GRID = "#1f2933", "#7b8794", "#e4e7eb"
_BLUE, _ORANGE, _GREEN, _RED, _PURPLE = "#2563eb", "#ea580c", "#16a34a", "#dc2626", "#7c3aed"
_MIB = 1 << 20
# Above the plot, so no line hides under it.
_LEGEND: dict[str, Any] = {
    "loc": "lower left",
    "bbox_to_anchor": (0.0, 1.0),
    "frameon": False,
    "borderaxespad": 0.2,
}


def _figure() -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")  # no display; SVG out
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.edgecolor": _MUTED,
            "axes.labelcolor": _INK,
            "xtick.color": _MUTED,
            "ytick.color": _MUTED,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.fonttype": "none",  # text stays text: selectable, small, the page's own font
            "svg.hashsalt": "embload",  # the same run renders to the same bytes
        }
    )
    fig, ax = plt.subplots(figsize=(9.6, 3.2), layout="constrained")
    ax.grid(True, color=_GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig: Figure) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)


# for the charts drawn beside this module (stability_html.py, trace_html.py): one figure, style
# and SVG for all
figure, to_svg, LEGEND = _figure, _svg, _LEGEND
MUTED, GRID, BLUE, ORANGE, GREEN, RED = _MUTED, _GRID, _BLUE, _ORANGE, _GREEN, _RED


def chart(key: str, title: str, svg: str, caption: str) -> dict[str, str]:
    """A figure of report.html: its key (data-chart), title, inline SVG and caption."""
    return {"key": key, "title": title, "svg": svg, "caption": caption}


def shade(ax: Axes, left: float, right: float, label: str) -> None:
    """A stretch of the time axis left out of the figures: a warm-up."""
    if right > left:
        ax.axvspan(left, right, color=_GRID, alpha=0.7, linewidth=0, label=label)


def latency_over_time(w: Windows) -> str:
    fig, ax = _figure()
    ax.plot(w.t_s, w.p50_ms, color=_BLUE, linewidth=1.4, label="P50")
    ax.plot(w.t_s, w.p99_ms, color=_ORANGE, linewidth=1.4, label="P99")
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    users = ax.twinx()
    users.step(w.t_s, w.active_users, where="post", color=_MUTED, linewidth=1, label="users")
    users.set_ylabel("active users")
    users.set_ylim(bottom=0, top=max(float(w.active_users.max(initial=0)) * 1.15, 1))
    users.spines["right"].set_visible(True)
    _legend(ax, users, ncols=3)
    return _svg(fig)


def throughput_over_time(w: Windows) -> str:
    fig, ax = _figure()
    ax.plot(w.t_s, w.ok_per_s, color=_GREEN, linewidth=1.4, label="successful")
    if w.errors_per_s.any():
        ax.plot(w.t_s, w.errors_per_s, color=_RED, linewidth=1.4, label="failed")
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel("requests per second")
    ax.set_ylim(bottom=0)
    ax.legend(**_LEGEND, ncols=2)
    return _svg(fig)


def latency_cdf(latency_ms: np.ndarray, fraction: np.ndarray, marks: dict[str, float]) -> str:
    fig, ax = _figure()
    ax.plot(latency_ms, fraction * 100, color=_BLUE, linewidth=1.6)
    _log_x(ax)
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("requests at or below (%)")
    ax.set_ylim(0, 100.5)
    for label, value in marks.items():
        ax.axvline(value, color=_MUTED, linewidth=0.8, linestyle=":")
        ax.annotate(label, (value, 3), rotation=90, color=_MUTED, fontsize=8, ha="right")
    return _svg(fig)


def server_time(parts: dict[str, tuple[float, float]]) -> str:
    """Stacked bars, P50 and P99: each part of a request's time (ms) by its own percentile."""
    fig, ax = _figure()
    fig.set_size_inches(fig.get_size_inches()[0], 1.9)
    colors = (_PURPLE, _ORANGE, _BLUE, _MUTED)
    rows = ("P99", "P50")
    left = [0.0, 0.0]
    for (name, (p50, p99)), color in zip(parts.items(), colors, strict=False):
        widths = [p99, p50]
        ax.barh(rows, widths, left=left, color=color, label=name, height=0.55)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlabel("ms")
    ax.legend(**_LEGEND, ncols=len(parts))
    return _svg(fig)


def latency_by_length(bins: LengthBins) -> str:
    fig, ax = _figure()
    ax.plot(bins.chars_mid, bins.p50_ms, "o-", color=_BLUE, markersize=3, label="P50")
    ax.plot(bins.chars_mid, bins.p90_ms, "o-", color=_PURPLE, markersize=3, label="P90")
    ax.plot(bins.chars_mid, bins.p99_ms, "o-", color=_ORANGE, markersize=3, label="P99")
    _log_x(ax)
    ax.set_xlabel("input length (characters per request, log scale)")
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    ax.legend(**_LEGEND, ncols=3)
    return _svg(fig)


def gpu_over_time(
    samples: Sequence[GpuSample], t0: float, events: Sequence[OomEvent], step_s: float = 1.0
) -> str:
    """Memory (MiB) per device and utilization, binned to `step_s`, OOM events as red lines."""
    fig, ax = _figure()
    util = ax.twinx()
    for index in sorted({s.index for s in samples}):
        series = [s for s in samples if s.index == index]
        t = np.array([s.time - t0 for s in series])
        mem = np.array([s.mem_used_bytes / _MIB for s in series])
        pct = np.array([np.nan if s.gpu_util_pct is None else s.gpu_util_pct for s in series])
        tb, mem_max = _bin_max(t, mem, step_s)
        ax.plot(tb, mem_max, color=_BLUE, linewidth=1.4, label=f"GPU {index} memory")
        tb, util_mean = _bin_mean(t, pct, step_s)
        util.plot(tb, util_mean, color=_GREEN, linewidth=1, alpha=0.8, label=f"GPU {index} util")
        total = series[-1].mem_total_bytes / _MIB
        ax.axhline(total, color=_MUTED, linewidth=0.8, linestyle="--")
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel("memory used (MiB)")
    ax.set_ylim(bottom=0)
    util.set_ylabel("utilization (%)")
    util.set_ylim(0, 105)
    util.spines["right"].set_visible(True)
    _mark_events(ax, events, t0)
    _legend(ax, util, ncols=4)
    return _svg(fig)


def server_gauges(series: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """The server's own queue and batch gauges over time: name -> (seconds, values)."""
    fig, ax = _figure()
    colors = (_BLUE, _ORANGE, _GREEN, _PURPLE, _RED, _MUTED)
    for (name, (t, v)), color in zip(series.items(), colors, strict=False):
        ax.step(t, v, where="post", color=color, linewidth=1.3, label=name)
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel("requests or texts")
    ax.set_ylim(bottom=0)
    ax.legend(**_LEGEND, ncols=min(len(series), 3))
    return _svg(fig)


def process_over_time(
    samples: Sequence[ProcessSample], t0: float, events: Sequence[OomEvent]
) -> str:
    fig, ax = _figure()
    t = np.array([s.time - t0 for s in samples])
    ax.plot(t, [s.rss_bytes / _MIB for s in samples], color=_BLUE, linewidth=1.4, label="RSS")
    cpu = ax.twinx()
    cpu.plot(t, [s.cpu_pct for s in samples], color=_ORANGE, linewidth=1, alpha=0.8, label="CPU")
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_ylim(bottom=0)
    cpu.set_ylabel("CPU (% of one core)")
    cpu.set_ylim(bottom=0)
    cpu.spines["right"].set_visible(True)
    _mark_events(ax, events, t0)
    _legend(ax, cpu, ncols=2)
    return _svg(fig)


def _legend(ax: Axes, twin: Axes, ncols: int) -> None:
    """One legend above the plot for the lines of both y axes."""
    lines, labels = ax.get_legend_handles_labels()
    more_lines, more_labels = twin.get_legend_handles_labels()
    ax.legend(lines + more_lines, labels + more_labels, **_LEGEND, ncols=ncols)


def _log_x(ax: Axes) -> None:
    """A log axis labelled in plain numbers (20, 50, 100), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _mark_events(ax: Axes, events: Sequence[OomEvent], t0: float) -> None:
    for event in events:
        ax.axvline(event.time - t0, color=_RED, linewidth=1, alpha=0.7)
        ax.annotate(
            event.kind.value,
            (event.time - t0, 0),
            rotation=90,
            color=_RED,
            fontsize=7,
            xytext=(2, 4),
            textcoords="offset points",
        )


def _bins(t: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    idx = np.floor(t / step_s).astype(np.int64)
    idx -= idx.min(initial=0)
    return idx, np.unique(idx)


def _bin_max(t: np.ndarray, v: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    if t.size == 0:
        return t, v
    idx, keys = _bins(t, step_s)
    out = np.full(int(idx.max()) + 1, -np.inf)
    np.maximum.at(out, idx, v)
    return keys * step_s + np.floor(t.min() / step_s) * step_s, out[keys]


def _bin_mean(t: np.ndarray, v: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    if t.size == 0:
        return t, v
    idx, keys = _bins(t, step_s)
    good = ~np.isnan(v)
    sums = np.bincount(idx[good], weights=v[good], minlength=int(idx.max()) + 1)
    counts = np.bincount(idx[good], minlength=int(idx.max()) + 1)
    with np.errstate(invalid="ignore"):
        means = sums / counts
    return keys * step_s + np.floor(t.min() / step_s) * step_s, means[keys]


def sweep_curve(
    points: Sequence[tuple[str, float, float | None, float | None]],
    x_label: str,
    slo_ms: float | None,
    knee: str | None,
) -> str:
    """Latency against throughput, one point per step (label, x, P50 ms, P99 ms): the SLO's
    latency limit as a line, the knee's step ringed."""
    fig, ax = _figure()
    xs = np.array([p[1] for p in points], dtype=float)
    for k, (name, color) in enumerate((("P50", _BLUE), ("P99", _ORANGE)), start=2):
        ys = np.array([np.nan if p[k] is None else p[k] for p in points], dtype=float)
        ax.plot(xs, ys, "o-", color=color, markersize=4, linewidth=1.4, label=name)
    for label, x, _, p99 in points:
        if p99 is not None:
            ax.annotate(label, (x, p99), textcoords="offset points", xytext=(4, 4), fontsize=7)
            if label == knee:
                ax.plot([x], [p99], "o", markersize=12, fillstyle="none", color=_RED)
    if slo_ms is not None:
        ax.axhline(slo_ms, color=_RED, linewidth=1, linestyle="--", label=f"SLO {slo_ms:g} ms")
    if knee is not None:
        ax.plot([], [], "o", fillstyle="none", color=_RED, label="knee")
    ax.set_yscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_xlim(left=0)
    ax.legend(**_LEGEND, ncols=4)
    return _svg(fig)


def pareto_chart(points: Sequence[tuple[str, float, float, bool]], speed_label: str) -> str:
    """Quality against speed, one point per candidate (name, speed, quality, on the front):
    the front's points filled and joined, the others hollow."""
    fig, ax = _figure()
    front = sorted((p for p in points if p[3]), key=lambda p: p[1])
    if front:
        ax.plot([p[1] for p in front], [p[2] for p in front], "-", color=_GREEN, linewidth=1)
    for name, x, y, on_front in points:
        ax.plot(
            [x],
            [y],
            "o",
            markersize=7,
            color=_GREEN if on_front else _MUTED,
            fillstyle="full" if on_front else "none",
        )
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.plot([], [], "o", color=_GREEN, label="Pareto front")
    ax.plot([], [], "o", color=_MUTED, fillstyle="none", label="beaten on both")
    ys = [p[2] for p in points]
    # candidates of one model score alike: a fixed margin, not matplotlib's 1e-5 offset axis
    ax.set_ylim(max(0.0, min(ys) - 0.05), min(1.0, max(ys) + 0.05))
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(speed_label)
    ax.set_ylabel("retrieval quality (nDCG@10, all pairs)")
    ax.legend(**_LEGEND, ncols=2)
    return _svg(fig)
