"""--fail-on as a CI gate, end to end: embload run and plain Locust exit 3 naming what was
crossed, 0 when every threshold holds, 2 with one line for a threshold that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.commands import run_embload, run_locust


def args(server: str, out: Path) -> list[str]:
    return ["--target", server, "--scenario", "single", "--duration", "3s", "--out", str(out)]


def test_a_crossed_threshold_exits_3_and_is_in_the_summary(
    reference_server: str, tmp_path: Path
) -> None:
    proc = run_embload([*args(reference_server, tmp_path / "r"), "--fail-on", "p99<1ms"], tmp_path)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: threshold crossed: p99<1ms (P99 was "), last
    (verdict,) = json.loads((tmp_path / "r" / "summary.json").read_text())["thresholds"]
    assert verdict["threshold"] == "p99<1ms" and verdict["held"] is False
    assert verdict["value"] > 1.0 and verdict["limit"] == 1.0


def test_thresholds_that_hold_exit_0(reference_server: str, tmp_path: Path) -> None:
    gate = "p99<10s,error_rate<1%"
    proc = run_embload([*args(reference_server, tmp_path / "r"), "--fail-on", gate], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    verdicts = json.loads((tmp_path / "r" / "summary.json").read_text())["thresholds"]
    assert [(v["threshold"], v["held"]) for v in verdicts] == [
        ("p99<10s", True),
        ("error_rate<1%", True),
    ]


def test_a_threshold_that_cannot_be_read_is_one_line_before_any_load(tmp_path: Path) -> None:
    proc = run_embload(
        [*args("http://127.0.0.1:9/v1", tmp_path / "r"), "--fail-on", "p98<1s"], tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --fail-on: 'p98<1s': unknown metric 'p98'; one of error_rate, inputs_per_s, "
        "p50, p90, p99, p999, qps, tokens_per_s; for soaks server_rss_growth, "
        "gpu_memory_growth, embload_rss_growth, p99_drift"
    ]
    assert not (tmp_path / "r").exists()


def test_plain_locust_takes_embload_fail_on(reference_server: str, tmp_path: Path) -> None:
    host = reference_server.removesuffix("/v1")
    args = ["-t", "2s", "--embload-out", str(tmp_path / "r"), "--embload-fail-on", "p50<0.001ms"]
    proc = run_locust("single", host, args, tmp_path)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "embload: threshold crossed: p50<0.001ms (P50 was " in proc.stderr
