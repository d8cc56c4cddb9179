"""Locust's master and workers: one run directory and one telemetry sidecar, on the master."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.e2e.conftest import ROOT, free_port

LOCUST = [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/medium.py")]


def test_master_collects_every_workers_records(reference_server: str, tmp_path: Path) -> None:
    port = str(free_port())
    host = reference_server.removesuffix("/v1")
    master = subprocess.Popen(
        [
            *LOCUST,
            *["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port],
            *["--headless", "--expect-workers", "2", "-u", "4", "-t", "4s", "--host", host],
            *["--only-summary", "--embload-out", str(tmp_path / "run")],
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers = []
    for n in range(2):
        (tmp_path / f"w{n}").mkdir()
        workers.append(
            subprocess.Popen(
                [*LOCUST, "--worker", "--master-host", "127.0.0.1", "--master-port", port],
                cwd=tmp_path / f"w{n}",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        out, _ = master.communicate(timeout=120)
        for worker in workers:
            worker.wait(30)
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode == 0, out[-3000:]
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["requests"] == len(rows) > 0 and summary["users"] == 4
    assert set(Counter(r["worker"] for r in rows)) == {"worker-0", "worker-1"}
    assert (run / "telemetry.json").exists() and (run / "health.jsonl").exists()
    # The workers wrote nothing of their own: no run directory, no sidecar files.
    assert [list((tmp_path / f"w{n}").iterdir()) for n in range(2)] == [[], []]
