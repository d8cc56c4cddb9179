"""Soak verdicts against real servers: one that keeps a known number of KiB a request is flagged
with that size, the same server without the leak is not; `--fail-on server_rss_growth<...`
names the growth it measured; a soak killed midway keeps its last checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.commands import EMBLOAD, clean_env
from tests.support.servers import leaky_pids, leaky_server

LEAK_KIB = 64
RATE = 100  # req/s: 6.25 MiB a second kept by the leaking server, none by the other


def _soak(url: str, out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *[*EMBLOAD, "run", "--target", f"{url}/v1", "--scenario", "single", "--out", str(out)],
            *["--rate", str(RATE), "--duration", "15s", "--warmup", "2s"],
            *["--server-pid", str(leaky_pids[url]), "--stability-min-span", "10s", *args],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=out.parent,
        env=clean_env(),
    )


def test_a_leak_of_known_size_is_flagged_with_that_size_and_no_leak_is_not(
    tmp_path: Path,
) -> None:
    # far above the flat twin's noise over a short run, far below the leak
    gate = ["--fail-on", "server_rss_growth<1GiB/h"]
    # side by side: one run's time for both, and each sees the same machine
    with leaky_server(LEAK_KIB) as leaking, leaky_server(0) as flat:
        runs = {
            "leaking": _soak(leaking, tmp_path / "leaking", *gate),
            "flat": _soak(flat, tmp_path / "flat", *gate),
        }
        done = {name: proc.communicate(timeout=180) for name, proc in runs.items()}
    codes = {name: proc.returncode for name, proc in runs.items()}
    fits = {
        name: json.loads((tmp_path / name / "summary.json").read_text())["stability"]["server_rss"]
        for name in runs
    }
    leak = fits["leaking"]
    assert leak["verdict"] == "leak_suspected", leak["words"]
    assert leak["per_request_bytes"] == pytest.approx(LEAK_KIB * 1024, rel=1 / 3), leak["words"]
    assert "leak suspected" in done["leaking"][0] + done["leaking"][1]
    assert codes["leaking"] == 3, done["leaking"][1][-2000:]
    assert "server RSS growth was" in done["leaking"][1]
    assert fits["flat"]["verdict"] == "no_growth", fits["flat"]["words"]
    assert codes["flat"] == 0, done["flat"][1][-2000:]


def test_a_soak_killed_midway_keeps_its_last_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    with leaky_server(0) as url:
        proc = subprocess.Popen(
            [
                *[*EMBLOAD, "soak", f"{url}/v1", "--scenario", "single", "--rate", "50"],
                *["--duration", "60s", "--warmup", "1s", "--checkpoint-every", "3s"],
                *["--out", str(out)],
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
            env=clean_env(),
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not (out / "report.html").exists() and time.monotonic() < deadline:
                assert proc.poll() is None, "the soak ended before its first checkpoint"
                time.sleep(0.2)
            time.sleep(1.0)  # the checkpoint that wrote it has finished its files
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # as a crash or an OOM kill ends a soak
            proc.wait(10)
    summary = json.loads((out / "summary.json").read_text())
    assert any("checkpoint" in w for w in summary["warnings"])
    assert summary["requests"] > 0 and summary["warmup"]["requests"] > 0
    assert "Stability" in (out / "report.html").read_text()
