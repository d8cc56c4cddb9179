"""Open-loop arrivals against a server whose capacity is known (one request at a time, 9 ms
each: ~100 req/s): below capacity the offered rate holds and latency is the service time;
above it the queue shows in P99, and sends are counted late or dropped, where a closed loop of
16 users, slowed down by the same server, reports a far lower P99."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from tests.support.commands import run_embload, run_locust
from tests.support.http import SERVICE_S

SERVICE_MS = SERVICE_S * 1000


def run(server: str, out: Path, *load: str, seconds: int = 6) -> dict[str, Any]:
    args = ["--target", server, "--scenario", "single", "--duration", f"{seconds}s"]
    proc = run_embload([*args, "--out", str(out), *load], out.parent)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "records.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_below_capacity_the_rate_holds_at_the_service_time(
    one_at_a_time: str, tmp_path: Path
) -> None:
    summary = run(one_at_a_time, tmp_path / "r40", "--rate", "40")
    load = summary["load"]
    assert load["mode"] == "open" and load["offered_rps"] == 40 and load["arrival"] == "poisson"
    assert 36 <= load["achieved_rps"] <= 44 and 36 <= summary["qps"] <= 44
    assert load["dropped"] == 0 and load["max_in_flight"] == 512
    assert load["due"] == summary["requests"] == len(records(tmp_path / "r40"))
    # at 40% load most requests find the server idle: the median is one service time
    assert SERVICE_MS <= summary["latency_ms"]["p50"] <= 1.5 * SERVICE_MS
    rows = records(tmp_path / "r40")
    assert all(0 <= r["send_lag_s"] < r["latency_s"] for r in rows)  # timed from the due time


def test_above_capacity_the_queue_shows_where_a_closed_loop_hides_it(
    one_at_a_time: str, tmp_path: Path
) -> None:
    closed = run(one_at_a_time, tmp_path / "u16", "--users", "16", seconds=5)  # first: the
    opened = run(one_at_a_time, tmp_path / "r200", "--rate", "200", seconds=8)  # queue stays
    load = opened["load"]
    assert opened["qps"] <= 120  # the server's capacity, whatever was offered
    assert load["late"] + load["dropped"] > 0 and load["due"] > opened["requests"]
    assert opened["latency_ms"]["p99"] > 20 * SERVICE_MS  # the queue: many service times
    assert closed["load"]["mode"] == "closed" and closed["load"]["dropped"] == 0
    assert closed["latency_ms"]["p99"] * 5 < opened["latency_ms"]["p99"]


def test_plain_locust_workers_share_one_constant_schedule(
    one_at_a_time: str, tmp_path: Path
) -> None:
    out = tmp_path / "p2"
    args = ["--processes", "2", "-u", "4", "-r", "4", "-t", "4s", "--embload-out", str(out)]
    args += ["--embload-rate", "50", "--embload-arrival", "constant"]
    proc = run_locust("single", one_at_a_time.removesuffix("/v1"), args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = records(out)
    assert {r["worker"] for r in rows} == {"worker-0", "worker-1"}
    due = sorted(r["start_time"] for r in rows)
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert all(abs(g - 0.020) < 0.001 for g in gaps), (min(gaps), max(gaps))  # 50/s, interleaved
    summary = json.loads((out / "summary.json").read_text())
    load = summary["load"]
    # without --stop-timeout Locust ends users at once: a request in flight then has no record
    assert load["max_in_flight"] == 4 and load["dropped"] == 0 and 0 <= load["unfinished"] <= 4
    assert load["due"] == len(rows) + load["unfinished"]
    # -t runs from the shared start, a second after the master's: 4 s of 50/s all came due
    assert 198 <= load["due"] <= 202 and summary["duration_s"] >= 4.0


def test_users_and_a_rate_do_not_mix(tmp_path: Path) -> None:
    proc = run_embload(
        ["--target", "http://127.0.0.1:9/v1", "--rate", "10", "--users", "4"], tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --users sizes a closed loop; an open loop (--rate, --trace) takes --max-in-flight"
    ]
