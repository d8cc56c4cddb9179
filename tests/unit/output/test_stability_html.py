"""report.html's Stability section and a trace replay's offered-against-achieved chart, on the
synthetic run with a leaking server and a flat load generator added; absent where the run has
neither, and one line of why where the trace is gone or changed."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from loadtest.analysis.summary import write_summary
from loadtest.core.arrivals import LoadShape
from loadtest.core.record import RecordRow
from loadtest.core.results import RunSummary, TraceFigures
from loadtest.core.trace import TraceRequest
from loadtest.core.types import ProcessSample
from loadtest.output.formats import number
from loadtest.output.html import write_report
from loadtest.output.stability_html import _envelope
from loadtest.output.trace_html import _achieved_rps, _offered
from loadtest.store.files import (
    LOADGEN,
    PROCESS,
    SUMMARY,
    JsonlWriter,
    RecordWriter,
    write_samples,
)
from loadtest.store.table import read_columns
from loadtest.store.traces import read_trace, write_trace
from tests.support.synthetic import DURATION_S, T0, run_end, write_files

MIB = 1 << 20
LEAK_MIB = 60.0  # over the run's minute: far above the 2 MiB a flat server's RSS moves
REQUESTS = 3_000


def _memory(run_dir: Path) -> None:
    """The server's RSS climbs a floor through a sawtooth; embload's own stays flat."""
    rng = np.random.default_rng(7)
    times = np.arange(-1.0, DURATION_S, 0.5)
    saw_mib = 6.0 * ((times / 7.0) % 1.0)
    server_mib = 500 + LEAK_MIB * np.clip(times, 0, None) / DURATION_S + saw_mib
    own_mib = 180 + rng.normal(0.0, 0.2, times.size)
    for name, rss_mib, pid in ((PROCESS, server_mib, 4242), (LOADGEN, own_mib, 99)):
        writer = JsonlWriter(run_dir / name)
        samples = [
            ProcessSample(T0 + float(t), pid, int(mib * MIB), 50.0)
            for t, mib in zip(times, rss_mib, strict=True)
        ]
        write_samples(writer, samples)
        writer.close()


def _summarize(run_dir: Path, trace: TraceFigures | None = None) -> RunSummary:
    # the synthetic run lasts a minute: a soak's hour-scale floor would leave it no verdict
    end = replace(run_end(), stability_min_span_s=10.0, trace=trace)
    return write_summary(run_dir, end)[0]


def _figure(html: str, key: str) -> str | None:
    found = re.search(rf'<figure data-chart="{key}">(.*?)</figure>', html, re.DOTALL)
    return found.group(1) if found else None


def _section(html: str, anchor: str) -> str:
    """From the section's heading to the next h2."""
    start = html.index(f'<h2 id="{anchor}">')
    return html[start : html.index("<h2", start + 4)]


@pytest.fixture(scope="module")
def leaking(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, RunSummary]:
    run_dir = tmp_path_factory.mktemp("leaking")
    write_files(run_dir, REQUESTS)
    _memory(run_dir)
    summary = _summarize(run_dir)
    return write_report(run_dir).read_text(), summary


def test_the_leak_is_drawn_red_with_its_words(leaking: tuple[str, RunSummary]) -> None:
    html, summary = leaking
    st = summary.stability
    assert st is not None and st.server_rss is not None and st.embload_rss is not None
    assert st.server_rss.verdict == "leak_suspected"
    section = _section(html, "stability")
    server = _figure(section, "stability-server-rss")
    assert server is not None and "<svg" in server
    assert f'<p class="verdict bad">{st.server_rss.words}</p>' in server
    assert "leak suspected" in st.server_rss.words and "the RSS of process 4242" in server
    own = _figure(section, "stability-embload-rss")
    assert own is not None and st.embload_rss.verdict == "no_growth"
    assert f'<p class="verdict">{st.embload_rss.words}</p>' in own
    assert "settling, not fitted" in server  # no --warmup: the settling stretch is shaded


def test_the_p99_and_the_method_are_shown(leaking: tuple[str, RunSummary]) -> None:
    html, summary = leaking
    st = summary.stability
    assert st is not None and st.p99_drift is not None
    assert st.p99_drift.verdict != "too_little_data"
    p99 = _figure(html, "stability-p99")
    assert p99 is not None and "<svg" in p99 and st.p99_drift.words in p99
    assert f"{st.p99_drift.window_s:.0f} s window" in p99
    assert "Theil–Sen" in _section(html, "stability")
    assert html.index('id="stability"') < html.index("<h2>Errors</h2>")
    assert 'id="replay"' not in html  # no trace was replayed


def test_every_fit_too_short_is_one_paragraph_without_charts(tmp_path: Path) -> None:
    write_files(tmp_path, 500)
    _memory(tmp_path)
    end = run_end()  # a soak's default: a minute after settling, which this run lacks
    summary = write_summary(tmp_path, end)[0]
    assert summary.stability is not None
    html = write_report(tmp_path).read_text()
    section = _section(html, "stability")
    assert "<figure" not in section and "<svg" not in section
    assert section.count("too little data") >= 3  # server RSS, GPU memory, embload RSS, P99
    assert summary.stability.server_rss is not None
    assert summary.stability.server_rss.words in section


def test_no_stability_no_section(tmp_path: Path) -> None:
    write_files(tmp_path, 500)
    summary = _summarize(tmp_path).model_copy(update={"stability": None})
    (tmp_path / SUMMARY).write_text(summary.model_dump_json())
    html = write_report(tmp_path).read_text()
    assert 'id="stability"' not in html and "stability-" not in html


def _replay_run(run_dir: Path, trace_path: Path, *, speed: float = 2.0) -> TraceFigures:
    """A trace whose rate climbs from 20 to 80 requests per second over 120 s, replayed at
    `speed` by an open loop that dropped a tenth of its lines and warmed up for 5 s."""
    rng = np.random.default_rng(3)
    span_s = 120.0
    # arrivals of a rate that climbs linearly: the inverse of its cumulative count
    count = int(50 * span_s)
    t = span_s * (-20 + np.sqrt(400 + 120 * np.sort(rng.uniform(0, 50, count)))) / 60
    info = write_trace(
        trace_path, (TraceRequest(i + 1, float(x), None, (32,)) for i, x in enumerate(t))
    )
    sent = np.flatnonzero(rng.uniform(size=count) > 0.1).tolist()
    rows = []
    for i in sent:
        due = T0 + 0.2 + float(t[i]) / speed
        warm = bool(t[i] / speed < 5.0)
        rows.append(RecordRow(due, 0.03, 200, None, None, 1, 100, 32, "en", "short", i % 16,
                              "local", 0.001 * (i % 5), warmup=warm, trace_line=i + 1))  # fmt: skip
    writer = RecordWriter(run_dir)
    writer.write_rows(rows)
    writer.close()
    return TraceFigures(
        path=str(trace_path),
        sha256=info.sha256,
        lines=info.lines,
        span_s=info.span_s,
        speed=speed,
        replayed=0,
    )


def _summarize_replay(run_dir: Path, trace: TraceFigures) -> RunSummary:
    end = replace(
        run_end(),
        load=LoadShape("open", arrival="trace"),
        warmup="5s",
        trace=trace,
        stability_min_span_s=10.0,
    )
    return write_summary(run_dir, end)[0]


def test_a_trace_replay_draws_offered_against_achieved(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    trace = _replay_run(run_dir, tmp_path / "climb.jsonl")
    summary = _summarize_replay(run_dir, trace)
    assert summary.trace is not None and summary.warmup is not None and summary.load is not None
    html = write_report(run_dir).read_text()
    section = _section(html, "replay")
    chart = _figure(section, "trace-offered")
    assert chart is not None and "offered (trace)" in chart and "achieved (sent)" in chart
    assert "warm-up" in chart
    assert 'data-trace="reason"' not in section
    info = re.search(r'data-trace="info">([^<]*)<', section)
    assert info is not None
    lag = summary.load
    assert info.group(1) == (
        f"climb.jsonl · sha256 {trace.sha256[:12]} · {trace.lines:,} requests over "
        f"{trace.span_s:,.1f} s · speed 2× · {summary.trace.replayed:,} replayed · send lag "
        f"P50 {number(lag.send_lag_p50_ms)} / P99 {number(lag.send_lag_p99_ms)} / max "
        f"{number(lag.send_lag_max_ms)} ms"
    )
    assert summary.trace.replayed > 0.85 * trace.lines
    assert html.index('id="replay"') < html.index('id="stability"')


def test_offered_and_achieved_line_up_on_the_runs_clock(tmp_path: Path) -> None:
    """Every line sent at its due time: each bin's achieved rate is the offered one, less the
    tenth dropped, at every speed."""
    for speed in (0.5, 2.0):
        run_dir = tmp_path / f"run-{speed}"
        run_dir.mkdir()
        trace = _replay_run(run_dir, tmp_path / f"climb-{speed}.jsonl", speed=speed)
        cols = read_columns(run_dir, timing=False, warmup=True)
        got = _offered(trace, cols.start_time, cols.trace_line)
        assert not isinstance(got, str)
        bins, offered = got
        first_s = next(read_trace(Path(trace.path))).t_s  # placed by its earliest line sent
        assert bins.start_s == pytest.approx(T0 + 0.2 + first_s / speed, abs=1e-6)
        achieved = _achieved_rps(cols.start_time, bins)
        assert offered.max() == pytest.approx(80 * speed, rel=0.25)  # the climb's top, sped up
        assert np.median(achieved / offered) == pytest.approx(0.9, abs=0.05)


@pytest.mark.parametrize("what", ["missing", "changed"])
def test_a_trace_gone_or_changed_is_one_line_and_the_achieved_rate(
    tmp_path: Path, what: str
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path = tmp_path / "climb.jsonl"
    trace = _replay_run(run_dir, path)
    if what == "missing":
        path.unlink()
    else:
        path.write_text('{"t": 0, "tokens": [5]}\n')
    _summarize_replay(run_dir, trace)
    section = _section(write_report(run_dir).read_text(), "replay")
    reason = re.search(r'data-trace="reason">([^<]*)<', section)
    assert reason is not None and reason.group(1).endswith("only the achieved rate is drawn.")
    assert ("is not found" if what == "missing" else "has changed since") in reason.group(1)
    chart = _figure(section, "trace-offered")
    assert chart is not None and "achieved (sent)" in chart and "offered (trace)" not in chart


def test_a_long_series_is_drawn_by_its_floors_and_peaks() -> None:
    """A day at 1 Hz becomes at most 1,200 points that keep every bin's lowest and highest."""
    t = np.arange(86_400.0)
    v = 1000 + 50 * np.sin(t / 300) + np.where(t % 10_000 == 0, 400, 0)  # a spike now and then
    shown_t, shown_v = _envelope(t, v)
    assert shown_t.size <= 1_200 and np.all(np.diff(shown_t) > 0)
    assert shown_v.max() == v.max() and shown_v.min() == v.min()
    assert np.count_nonzero(shown_v == v.max()) == np.count_nonzero(v == v.max())  # every spike
