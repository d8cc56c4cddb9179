"""The report on a run with everything in it: GPU samples, OOM events, a crash, errors and a
random-weights server. Banners, cards, tables and charts all say what the data says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtest.core.results import RunSummary
from loadtest.core.types import ErrorKind
from loadtest.output.html import write_report
from loadtest.target.url import redact
from tests.support.synthetic import write_run


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, RunSummary]:
    run_dir = tmp_path_factory.mktemp("synthetic")
    summary = write_run(run_dir, 5_000)
    return write_report(run_dir).read_text(), summary


def test_banners_for_errors_oom_and_random_weights(page: tuple[str, RunSummary]) -> None:
    html, summary = page
    banners = dict(re.findall(r'data-banner="([\w-]+)">([^<]*)<', html))
    assert set(banners) == {"errors", "oom", "random-weights"}
    failed = summary.requests - summary.ok
    assert banners["errors"].startswith(f"{failed:,} requests failed")
    kinds = {e.kind for e in summary.oom_events}
    assert kinds == {"memory_ceiling", "oom_response", "server_crash"}
    assert all(kind in banners["oom"] for kind in kinds)


def test_gpu_card_and_chart_with_events_marked(page: tuple[str, RunSummary]) -> None:
    html, summary = page
    card = html[html.index('data-card="gpu"') :][:400]
    assert "78,848 MiB" in card and "96% of 81,920 MiB" in card and "H100" in card
    gpu_chart = re.search(r'data-chart="gpu">(.*?)</figure>', html, re.DOTALL)
    assert gpu_chart is not None
    for kind in ("memory_ceiling", "oom_response", "server_crash"):
        assert kind in gpu_chart.group(1)  # each event is a labelled red line on the time axis
    assert summary.gpu is not None and summary.gpu.server_peak_mem_bytes == 76 * (1 << 30)


def test_tables_errors_and_events(page: tuple[str, RunSummary]) -> None:
    html, summary = page
    errors = html[html.index('<table id="errors">') :]
    errors = errors[: errors.index("</table>")]
    assert f"<td>oom</td><td>{summary.errors[ErrorKind.OOM]:,}</td>" in errors
    assert "CUDA out of memory" in errors and "Connection refused" in errors
    assert html.count("<tr><td>") >= 3 and 'id="oom-events"' in html
    assert "P99.9" in html and "length long" in html
    assert "inputs refused (400) past 8,192 tokens" in html  # what the server does past its limit


def test_credentials_in_a_target_are_never_shown(page: tuple[str, RunSummary]) -> None:
    html, _ = page
    assert "hunter2" not in html and "http://gpu-box:30000/v1" in html
    assert (
        redact("https://u:p@h:1/v1") == "https://h:1/v1" and redact("http://h/v1") == "http://h/v1"
    )


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    write_run(tmp_path, 500, seed=3)
    first = write_report(tmp_path).read_text()
    assert write_report(tmp_path).read_text() == first
