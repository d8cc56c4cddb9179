"""Locust's web UI: the --embload-* options are listed with the values a test will use, and a
test started from its form runs with what the form sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.commands import ROOT
from tests.support.http import free_port


def test_a_test_started_from_the_web_ui_uses_the_form(
    reference_server: str, tmp_path: Path
) -> None:
    port = free_port()
    host = reference_server.removesuffix("/v1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    env["EMBLOAD_TIMEOUT"] = "7"  # a variable: the form shows it as the option's value
    locust = subprocess.Popen(
        [
            *[sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/single.py")],
            *["--host", host, "--web-host", "127.0.0.1", "--web-port", str(port)],
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        page = ""
        while time.monotonic() < deadline and "embload_timeout" not in page:
            try:
                page = httpx.get(url + "/", timeout=2).text
            except httpx.HTTPError:
                time.sleep(0.2)
        start = page.index('"embload_timeout": ')
        timeout = json.loads(page[start + len('"embload_timeout": ') :].split("}", 1)[0] + "}")
        assert timeout["default_value"] == 7.0 and "timeout" in timeout["help_text"]
        assert '"embload_api_key": {' in page  # listed, and masked: it is a secret
        assert '"is_secret": true' in page.split('"embload_api_key": ', 1)[1].split("}", 1)[0]
        form = {
            "user_count": "2",
            "spawn_rate": "2",
            "host": host,
            "run_time": "3s",
            "embload_seed": "5",
            "embload_encoding_format": "float",
            "embload_model": "",  # an empty field: the option's default (the first model)
        }
        assert httpx.post(url + "/swarm", data=form, timeout=10).json()["success"]
        deadline = time.monotonic() + 60
        summaries: list[Path] = []
        while time.monotonic() < deadline and not summaries:
            time.sleep(0.5)
            summaries = list((tmp_path / "reports").glob("*/summary.json"))
    finally:
        locust.terminate()
        locust.wait(30)
    (path,) = summaries
    summary = json.loads(path.read_text())
    assert (summary["seed"], summary["encoding_format"], summary["users"]) == (5, "float", 2)
    assert summary["model"] == "all-MiniLM-L6-v2" and summary["ok"] == summary["requests"] > 0
