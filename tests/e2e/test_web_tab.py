"""embload's tab in Locust's web UI, read off the page in headless Chromium during a test: the
exact percentiles per category from the records, and the link to report.html once it stops."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.commands import ROOT, clean_env
from tests.support.http import Counting, free_port, serving

pytestmark = pytest.mark.slow


def _page(url: str) -> str:
    """The UI's page as Chromium renders it, its scripts run and its first polls answered."""
    chromium = shutil.which("chromium")
    assert chromium, "headless Chromium is missing: `make browser` installs Debian's chromium"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"]
    cmd += ["--virtual-time-budget=8000", "--dump-dom", url]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def _cells(dom: str) -> list[list[str]]:
    """Every table row of the page, as the text of its cells."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", dom, re.DOTALL)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.DOTALL)
        ]
        for r in rows
    ]


def test_the_embload_tab_shows_exact_percentiles_and_then_the_report(tmp_path: Path) -> None:
    port = free_port()
    with serving(Counting) as host:
        locust = subprocess.Popen(
            [
                *[sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/medium.py")],
                *["--host", host, "--web-host", "127.0.0.1", "--web-port", str(port)],
            ],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(url + "/", timeout=2)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "Locust's web UI never came up"
                    time.sleep(0.2)
            form = {"user_count": "4", "spawn_rate": "4", "host": host, "run_time": "6s"}
            assert httpx.post(url + "/swarm", data=form, timeout=10).json()["success"]
            time.sleep(2)
            running = _cells(_page(f"{url}/?tab=embload"))
            header = ["Category", "Requests", "Failed", "P50 ms", "P90 ms", "P99 ms", "P99.9 ms"]
            assert any(row[:7] == header for row in running), running
            (zh,) = [row for row in running if row and row[0] == "zh"]
            assert int(zh[1]) > 0 and float(zh[3]) > 0 and zh[-1] == "when the test stops"
            deadline = time.monotonic() + 60
            while not list((tmp_path / "reports").glob("*/report.html")):
                assert time.monotonic() < deadline, "the test never wrote its report"
                time.sleep(0.5)
            time.sleep(1)
            stopped = _cells(_page(f"{url}/?tab=embload"))
            (zh,) = [row for row in stopped if row and row[0] == "zh"]
            assert zh[-1] == "/embload/report"
            report = httpx.get(url + "/embload/report", timeout=10)
            assert report.status_code == 200 and "<html" in report.text
        finally:
            locust.terminate()
            locust.wait(30)
    # the page's figures are the summary's: the same records, the same percentiles
    (summary_path,) = (tmp_path / "reports").glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert int(zh[1]) == summary["by_category"]["zh"]["requests"]
    assert float(zh[5]) == pytest.approx(
        summary["by_category"]["zh"]["latency_ms"]["p99"], abs=0.006
    )
