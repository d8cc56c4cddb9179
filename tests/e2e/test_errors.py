"""Every error kind, produced by a real server that misbehaves on purpose, through real Locust."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import BEHAVIOURS, ROOT


def test_every_error_kind_is_recorded(misbehaving_server: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "scenarios/single.py"),
        "--headless",
        "-t",
        "5s",
        "--host",
        misbehaving_server,
        "--only-summary",
        "--embload-out",
        str(out),
        "--embload-timeout",
        "0.5",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]  # Locust's own exit code when requests failed
    summary = json.loads((out / "summary.json").read_text())
    lines = (out / "records.jsonl").read_text().splitlines()
    assert summary["requests"] == len(lines) > len(BEHAVIOURS)
    for _, kind in BEHAVIOURS:
        if kind is not None:
            assert summary["errors"][kind] > 0, (kind, summary["errors"], summary["error_samples"])
    assert summary["ok"] > 0
    assert summary["error_samples"]["oom"][0].startswith("HTTP 500: CUDA out of memory")
    records = [json.loads(line) for line in lines]
    timeouts = [r for r in records if r["error"] == "timeout"]
    assert all(0.45 < r["latency_s"] < 1.4 for r in timeouts)  # cut at the 0.5 s timeout
