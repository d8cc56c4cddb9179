"""report.html from a real run: figures match summary.json, nothing outside the file is
referenced, no secret is kept, a real browser renders every chart, and `embload report`
renders the same figures again from a copied run directory."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from loadtest.output.formats import number
from tests.support.commands import EMBLOAD
from tests.support.gpu import no_gpu_reason
from tests.support.servers import bundled_server

SECRET = "sk-embload-test-7f3a9c51"
CHARTS = {
    "latency-over-time",
    "throughput-over-time",
    "latency-cdf",
    "latency-by-length",
    "server-time",  # the bundled server's TEI-style timing headers
    "server-metrics",  # its /metrics: embload_server_queue_size
    "process",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("report")
    with bundled_server(base / "server.log") as (server, url):
        proc = subprocess.run(
            [
                *[*EMBLOAD, "run", "--target", url, "--scenario", "peak", "--users", "8"],
                *["--duration", "4s", "--out", str(base / "run"), "--server-pid", str(server.pid)],
                *["--api-key", SECRET],
            ],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=base,
        )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"report: {base / 'run' / 'report.html'}" in proc.stdout
    yield base / "run"


def figures(page: str) -> dict[str, str]:
    """What the page says: every headline card, and every row of the percentile table."""
    found = {
        f"card:{key}": " ".join(re.sub(r"<[^>]+>", " ", html.unescape(value)).split())
        for key, value in re.findall(
            r'data-card="([\w-]+)">.*?<div class="value">(.*?)</div>', page, re.DOTALL
        )
    }
    table = page[page.index('<table id="percentiles">') :]
    table = table[: table.index("</table>")]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL)[1:]:
        cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        found[f"row:{cells[0]}"] = " ".join(cells[1:])
    return found


def test_figures_match_the_summary(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    page = figures((run_dir / "report.html").read_text())
    lat = summary["latency_ms"]
    assert page["card:p50"] == f"{number(lat['p50'])} ms"
    assert page["card:p99"] == f"{number(lat['p99'])} ms"
    assert page["card:errors"] == f"{summary['error_rate']:.2%}"
    assert page["card:oom"] == str(len(summary["oom_events"]))
    all_row = page["row:all"].split()
    assert all_row[:2] == [f"{summary['requests']:,}", f"{summary['ok']:,}"]
    assert all_row[2:8] == [number(lat[k]) for k in ("p50", "p90", "p99", "p999", "max", "mean")]
    for category, fig in summary["by_category"].items():
        assert page[f"row:{category}"].split()[2] == number(fig["latency_ms"]["p50"])
    assert set(summary["by_bucket"]) == {
        k.removeprefix("row:length ") for k in page if "length" in k
    }
    gpu_card = page["card:gpu"]
    if no_gpu_reason() is None:  # this machine has a GPU: the card shows its peak
        assert gpu_card == f"{summary['gpu']['peak_mem_used_bytes'] / (1 << 20):,.0f} MiB"
    else:
        assert summary["gpu"] is None and gpu_card == "-"
        assert f"no GPU telemetry: {no_gpu_reason()}" in (run_dir / "report.html").read_text()


def test_self_contained_and_no_secret_anywhere(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    assert not re.search(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    # url(#clip) inside the SVG points into the page itself; anything else would not.
    assert not re.search(r"url\((?!#)|@import|<link\b|<script\b|<img\b|<iframe\b", page)
    # The only http:// on the page is the target's address and its route, shown as text.
    base = "http://127.0.0.1:" + page.split("http://127.0.0.1:")[1].split("/v1")[0] + "/v1"
    assert {m for m in re.findall(r"https?://[^\s<\"']+", page)} <= {base, base + "/embeddings"}
    for path in run_dir.iterdir():
        text = path.read_bytes()
        assert SECRET.encode() not in text, path.name
        assert b"Bearer" not in text and b"Authorization" not in text, path.name


def test_a_real_browser_renders_every_chart(run_dir: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "headless Chromium is missing: `make browser` installs Debian's chromium"
    flags = [
        *[chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"],
        *["--no-first-run", "--disable-background-networking", "--disable-component-update"],
        *["--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"],
        *["--enable-logging=stderr", "--v=0", "--window-size=1280,3600"],
    ]
    url = (run_dir / "report.html").resolve().as_uri()
    screenshot = run_dir / "report.png"
    shot = subprocess.run(
        [*flags, f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=120
    )
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and dom.returncode == 0, shot.stderr[-2000:]
    console = [
        line for line in shot.stderr.splitlines() + dom.stderr.splitlines() if "CONSOLE" in line
    ]
    assert console == [], console
    figures_drawn = re.findall(
        r'data-chart="([\w-]+)">.*?<svg[^>]*>(.*?)</svg>', dom.stdout, re.DOTALL
    )
    assert {key for key, _ in figures_drawn} == CHARTS
    assert all(body.count("<path") >= 5 for _, body in figures_drawn)  # axes and lines drawn

    from matplotlib.image import imread

    pixels = imread(screenshot)[..., :3]
    ink = (pixels.mean(axis=2) < 0.9).mean()  # share of pixels that are not (near) white
    assert 0.02 < ink < 0.6, f"the page looks blank or broken: {ink:.1%} ink"
    assert np.unique(pixels.reshape(-1, 3), axis=0).shape[0] > 50  # text, lines, cards


def test_report_again_from_a_copy_gives_the_same_figures(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "moved"
    shutil.copytree(run_dir, copy)
    (copy / "report.html").unlink()
    proc = subprocess.run(
        [*EMBLOAD, "report", str(copy)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(copy / "report.html")
    assert figures((copy / "report.html").read_text()) == figures(
        (run_dir / "report.html").read_text()
    )


def test_report_of_something_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*EMBLOAD, "report", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path} is not a run directory: it has no summary.json"
    ]
