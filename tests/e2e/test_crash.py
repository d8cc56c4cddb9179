"""A server that dies in the middle of a run: the run ends on its own and says what happened."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.servers import bundled_server


def test_killing_the_server_halfway_is_a_recorded_crash(tmp_path: Path) -> None:
    with bundled_server(tmp_path / "server.log") as (server, url):
        run_dir = tmp_path / "run"
        run = subprocess.Popen(
            [
                *[sys.executable, "-m", "loadtest.cli", "run", "--scenario", "medium"],
                *["--target", url, "--duration", "8s"],
                *["--server-pid", str(server.pid), "--out", str(run_dir)],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        records = run_dir / "records.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not records.exists() or records.stat().st_size == 0):
            time.sleep(0.1)
        time.sleep(1.0)  # well into the run, with replies on record
        server.send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=120)  # the run ends on its own

    assert run.returncode == 1, stdout[-2000:] + stderr[-2000:]
    (last,) = stderr.strip().splitlines()[-1:]
    assert last.startswith("error: the server stopped answering during the run")
    summary = json.loads((run_dir / "summary.json").read_text())
    lines = (run_dir / "records.jsonl").read_text().splitlines()
    assert summary["requests"] == len(lines)
    failed = [json.loads(line) for line in lines if json.loads(line)["error"]]
    assert failed and {r["error"] for r in failed} == {"connection"}
    assert summary["errors"]["connection"] == len(failed) == summary["requests"] - summary["ok"]
    assert summary["ok"] > 0
    crashes = [e for e in summary["oom_events"] if e["kind"] == "server_crash"]
    # In-flight requests see the connection cut; the ones sent after it, refused.
    assert len(crashes) == 1 and "replies" in crashes[0]["evidence"]
    assert any("refused" in r["error_message"].lower() for r in failed)
    first_failure = min(r["start_time"] + r["latency_s"] for r in failed)
    assert abs(crashes[0]["time"] - first_failure) < 1e-6
    assert not [e for e in summary["oom_events"] if e["kind"] == "server_restart"]
    assert summary["server_process"]["pid"] == server.pid
