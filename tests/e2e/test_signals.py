"""Ctrl-C and SIGTERM as a user or a scheduler sends them: to embload's process group.

The load stops, every record of the part that ran is kept and matches what the server served,
summary.json and report.html say the run was interrupted, and no process is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.commands import EMBLOAD, ROOT, clean_env
from tests.support.http import Counting, free_port, serving

pytestmark = pytest.mark.slow


@pytest.fixture
def counting() -> Iterator[str]:
    Counting.served = []
    with serving(Counting) as host:
        yield f"{host}/v1"


def _start(cmd: list[str], cwd: Path) -> subprocess.Popen[str]:
    """`cmd` in a process group of its own, as a shell runs a foreground job."""
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _family(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children(recursive=True)


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never came"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_load_and_keeps_every_record(
    counting: str, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "run"
    args = ["--target", counting, "--scenario", "medium", "--duration", "60s", "--out", str(out)]
    proc = _start([*EMBLOAD, "run", *args], tmp_path)
    _wait_for(out / "records.jsonl", proc)
    time.sleep(10)
    family = _family(proc)
    assert family, "embload runs Locust as a child"
    os.killpg(proc.pid, sig)
    sent = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    took_s = time.monotonic() - sent
    assert proc.returncode == 128 + sig.value, stdout[-2000:] + stderr[-2000:]
    assert took_s < 15
    assert stderr.strip().splitlines() == [
        f"interrupted by {sig.name}: the load stopped; {out} holds the part that ran"
    ]
    time.sleep(1.0)
    with Counting.lock:
        served, last = len(Counting.served), max(Counting.served)
    assert last <= sent + took_s  # nothing reached the server after embload exited
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    summary = json.loads((out / "summary.json").read_text())
    records = (out / "records.jsonl").read_text().splitlines()
    assert summary["interrupted"] == sig.name and summary["requests"] == len(records)
    assert 9 <= summary["duration_s"] < 20  # the part that ran, not the 60 s asked for
    assert summary["errors"] == {k: 0 for k in summary["errors"]}
    # what the server served, but for the requests in flight when Locust stopped its users
    assert 0 <= served - len(records) <= 16, (served, len(records))
    assert f"Interrupted by {sig.name}" in (out / "report.html").read_text()
    assert f"interrupted by {sig.name}" in stdout


def test_a_second_ctrl_c_stops_at_once_and_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "run"
    args = ["--serve", "--serve-port", str(port)]
    args += ["--scenario", "single", "--duration", "60s", "--out", str(out)]
    proc = _start([*EMBLOAD, "run", *args], tmp_path)
    _wait_for(out / "records.jsonl", proc, timeout_s=180)
    family = _family(proc)
    assert len(family) >= 2, "the bundled server and Locust"
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert stderr.strip().splitlines() == [
        f"interrupted by a second SIGINT: stopped at once; what was on disk is in {out}"
    ]
    time.sleep(0.5)  # reaped by now: a process killed outright exits at once
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert (out / "records.jsonl").stat().st_size > 0


def test_plain_locust_marks_its_summary_and_exits_130(counting: str, tmp_path: Path) -> None:
    out = tmp_path / "plain"
    proc = _start(
        [
            *[sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/single.py")],
            *["--headless", "-t", "60s", "--host", counting.removesuffix("/v1")],
            *["--only-summary", "--embload-out", str(out)],
        ],
        tmp_path,
    )
    _wait_for(out / "records.jsonl", proc)
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal Locust runs in
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr[-2000:]
    assert (
        f"embload: interrupted by SIGINT: the load stopped; {out} holds the part that ran" in stderr
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == "SIGINT" and summary["duration_s"] < 30
    assert summary["requests"] == len((out / "records.jsonl").read_text().splitlines())


@pytest.mark.parametrize(
    ("command", "sig"),
    [
        # no warm-up: the signal comes 2 s in, when a warm-up would still be all there was
        (["sweep", "--users", "1,2", "--duration", "30s", "--warmup", "0"], signal.SIGTERM),
        (
            ["compare", "a", "b", "--scenarios", "single", "--duration", "60s", "--warmup", "0"],
            signal.SIGINT,
        ),
    ],
)
def test_a_signal_ends_a_sweep_or_a_compare_after_the_run_it_stopped(
    counting: str, tmp_path: Path, command: list[str], sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    targets = ["--target", counting]
    if command[0] == "compare":
        targets = ["--target", f"a={counting}", "--target", f"b={counting}"]
    proc = _start([*EMBLOAD, *command, *targets, "--out", str(out)], tmp_path)
    deadline = time.monotonic() + 60
    while not list(out.glob("*/records.jsonl")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(2)
    family = _family(proc)
    os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig.value, stdout[-2000:] + stderr[-2000:]
    (run_dir,) = (p.parent for p in out.glob("*/records.jsonl"))  # nothing more started
    assert stderr.strip().splitlines() == [
        f"interrupted by {sig.name}: the load stopped; {run_dir} holds the part that ran"
    ]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] == sig.name and summary["requests"] > 0
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
