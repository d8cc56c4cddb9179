"""`embload sweep` against the one-at-a-time server (9 ms a request, ~100 req/s at most): the
SLO search lands where the queue theory says, the batch and users sweeps name their answer and
knee, and --fail-on is judged on the answer's step."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support.commands import EMBLOAD, clean_env


def sweep(server: str, out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    proc = subprocess.run(
        [
            *[*EMBLOAD, "sweep", "--target", server, "--scenario", "single", "--out", str(out)],
            *["--warmup", "0", *args],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out.parent,
        env=clean_env(),
    )
    doc = json.loads((out / "sweep.json").read_text()) if (out / "sweep.json").exists() else None
    return proc, doc


def test_the_slo_search_finds_the_highest_rate_within_it(
    one_at_a_time: str, tmp_path: Path
) -> None:
    out = tmp_path / "search"
    gate = "p99<10s,error_rate<1%"
    proc, doc = sweep(
        one_at_a_time, out, "--slo", "p99<60ms", "--duration", "4s", "--fail-on", gate
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert doc["kind"] == "rates" and doc["searched"] and doc["baseline"]["users"] == 1
    assert 50 <= doc["max_rps_within_slo"] <= 110
    held = [s for s in doc["steps"] if s["within_slo"]]
    assert doc["answer"]["load"] == doc["max_rps_within_slo"] == max(s["load"] for s in held)
    assert all(s["p99_ms"] < 60 for s in held)
    assert [v["held"] for v in doc["thresholds"]] == [True, True]
    for s in [doc["baseline"], *doc["steps"]]:  # every step a whole run
        summary = json.loads((out / s["run_dir"] / "summary.json").read_text())
        assert summary["requests"] == s["requests"] > 0
        assert (out / s["run_dir"] / "report.html").exists()
    html = (out / "sweep.html").read_text()
    assert "<svg" in html and "SLO 60 ms" in html and not re.search(r"(src|href)=\"https?:", html)
    assert f"highest rate within p99<60ms: {doc['max_rps_within_slo']:g} req/s" in proc.stdout


def test_a_batch_sweep_names_the_best_batch(one_at_a_time: str, tmp_path: Path) -> None:
    out = tmp_path / "batch"
    args = ["--batch", "1,8", "--fixed-users", "2", "--duration", "3s"]
    proc, doc = sweep(one_at_a_time, out, *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    by_batch = {s["batch"]: s for s in doc["steps"]}
    # a request costs the same whatever it holds: eight texts a request embed ~8x as many
    assert by_batch[8]["inputs_per_s"] > 5 * by_batch[1]["inputs_per_s"]
    assert doc["best_batch"] == 8 and doc["knee"] is None
    assert "best batch: 8 texts per request" in proc.stdout


def test_a_users_sweep_finds_the_knee_and_fail_on_exits_3(
    one_at_a_time: str, tmp_path: Path
) -> None:
    out = tmp_path / "users"
    proc, doc = sweep(
        one_at_a_time, out, "--users", "1,4", "--duration", "3s", "--fail-on", "p99<1ms"
    )
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("error: threshold crossed: p99<1ms (P99 was ")
    )
    # one user already keeps the server busy: four queue (P99 4x) for little more throughput
    assert doc["knee"]["load"] == 4, doc["knee"]
    assert doc["answer"]["load"] == 1 and doc["thresholds"][0]["held"] is False


def test_a_sweep_of_nothing_is_one_line(tmp_path: Path) -> None:
    proc, doc = sweep("http://127.0.0.1:9/v1", tmp_path / "none", "--duration", "1s")
    assert proc.returncode == 2 and doc is None
    assert proc.stderr.strip().splitlines() == [
        "error: nothing to sweep: give --slo to search rates, or steps with --rates, --users or "
        "--batch"
    ]
