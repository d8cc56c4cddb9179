"""Locust's master and workers: one run directory and one telemetry sidecar, on the master,
and every request Locust counts in the records."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.commands import ROOT, run_embload
from tests.support.http import free_port

LOCUST = [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/medium.py")]


def locust_count(stats_csv: Path) -> int:
    """Requests as Locust itself counted them: the Aggregated row of its --csv stats."""
    with stats_csv.open() as f:
        return next(int(r["Request Count"]) for r in csv.DictReader(f) if r["Name"] == "Aggregated")


def records(run: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("processes", [2, 4])
def test_plain_locust_processes_lose_no_record(
    reference_server: str, tmp_path: Path, processes: int
) -> None:
    """The run ends mid-request (plain Locust: no --stop-timeout); whatever Locust counted,
    the records hold, and so does the summary."""
    host = reference_server.removesuffix("/v1")
    single = str(ROOT / "scenarios/single.py")
    cmd = [sys.executable, "-m", "locust", "-f", single, "--headless", "-u", "8", "-t", "4s"]
    proc = subprocess.run(
        [
            *cmd,
            "--host",
            host,
            "--processes",
            str(processes),
            "--only-summary",
            "--csv",
            str(tmp_path / "locust"),
            "--embload-out",
            str(tmp_path / "run"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = records(tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert locust_count(tmp_path / "locust_stats.csv") == len(rows) == summary["requests"] > 0
    workers = {f"worker-{n}" for n in range(processes)}
    assert {r["worker"] for r in rows} == workers == set(summary["workers"])
    assert summary["warnings"] == []


def test_embload_run_processes_2_keeps_every_record_and_samples_vectors_on_workers(
    reference_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = ["--target", reference_server, "--scenario", "single", "--duration", "4s"]
    flags = ["--users", "4", "--processes", "2", "--keep-vectors", "5", "--out", str(out)]
    proc = run_embload([*args, *flags], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = records(out)
    summary = json.loads((out / "summary.json").read_text())
    assert locust_count(out / "locust_stats.csv") == len(rows) == summary["requests"] > 0
    assert set(Counter(r["worker"] for r in rows)) == {"worker-0", "worker-1"}
    vectors = (out / "vectors.jsonl").read_text().splitlines()
    assert 0 < len(vectors) <= 10  # up to 5 a worker, sent to the master


def headless_master(
    tmp_path: Path, host: str, seconds: int, expect: int, *extra: str
) -> tuple[subprocess.Popen[str], list[str]]:
    """A headless master of 4 users expecting `expect` workers, and the command of a worker."""
    port = str(free_port())
    master = subprocess.Popen(
        [
            *LOCUST,
            *["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port],
            *["--headless", "--expect-workers", str(expect), "-u", "4", "-t", f"{seconds}s"],
            *["--host", host, "--only-summary", "--embload-out", str(tmp_path / "run"), *extra],
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return master, [*LOCUST, "--worker", "--master-host", "127.0.0.1", "--master-port", port]


def master_and_workers(
    tmp_path: Path, host: str, seconds: int
) -> tuple[subprocess.Popen[str], list[subprocess.Popen[bytes]]]:
    """A headless master expecting 2 workers (4 users), and the 2 workers, each in a directory
    of its own (w0, w1) so nothing they might write goes unnoticed."""
    master, worker = headless_master(tmp_path, host, seconds, 2)
    workers = []
    for n in range(2):
        (tmp_path / f"w{n}").mkdir()
        workers.append(
            subprocess.Popen(
                worker,
                cwd=tmp_path / f"w{n}",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return master, workers


def test_a_worker_that_never_reports_is_named(reference_server: str, tmp_path: Path) -> None:
    master, workers = master_and_workers(tmp_path, reference_server.removesuffix("/v1"), 5)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "records.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        workers[1].send_signal(signal.SIGKILL)  # gone without a word, mid-test
        out, _ = master.communicate(timeout=120)
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["warnings"]) == 1, (summary["warnings"], out[-2000:])
    warning = summary["warnings"][0]
    assert warning.startswith("worker-") and "never sent its final records" in warning
    assert f"embload: warning: {warning}" in out
    assert summary["requests"] == len(records(tmp_path / "run")) > 0


def test_master_collects_every_workers_records(reference_server: str, tmp_path: Path) -> None:
    master, workers = master_and_workers(tmp_path, reference_server.removesuffix("/v1"), 4)
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


def test_a_worker_that_joins_mid_test_gets_the_preflight_and_its_users(
    reference_server: str, tmp_path: Path
) -> None:
    """Locust hands a worker that connects during a test its part of the users (with
    --enable-rebalancing); the run's preflight comes with them, among the master's options."""
    host = reference_server.removesuffix("/v1")
    master, worker = headless_master(tmp_path, host, 8, 1, "--enable-rebalancing")
    procs: list[subprocess.Popen[str]] = []
    try:
        procs.append(subprocess.Popen(worker, cwd=tmp_path, text=True, stderr=subprocess.PIPE))
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "records.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the test runs: this worker joins it
        procs.append(subprocess.Popen(worker, cwd=tmp_path, text=True, stderr=subprocess.PIPE))
        out, _ = master.communicate(timeout=120)
        late = procs[1].communicate(timeout=30)[1]
    finally:
        for proc in (master, *procs):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    assert master.returncode == 0, out[-3000:]
    assert "preflight" not in late, late[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    workers = Counter(str(r["worker"]) for r in records(tmp_path / "run"))
    assert set(workers) == {"worker-0", "worker-1"} and summary["warnings"] == [], summary
    assert summary["requests"] == sum(workers.values())
