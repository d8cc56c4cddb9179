"""`embload compare` end to end: two bundled servers (minilm with dynamic batching on and off),
started in turn, and comparisons of saved runs where the right verdict is known."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.commands import EMBLOAD
from tests.support.http import QuietHandler, free_port, serving
from tests.support.synthetic import write_run


@pytest.fixture(scope="module")
def compared(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("compare")
    (base / "embload.toml").write_text(
        f"""
[targets.batched]
url = "http://127.0.0.1:{free_port()}/v1"
serve = {{ model = "minilm" }}

[targets.unbatched]
url = "http://127.0.0.1:{free_port()}/v1"
serve = {{ model = "minilm", max_batch_size = 1 }}
"""
    )
    proc = subprocess.run(
        [
            *[*EMBLOAD, "compare", "batched", "unbatched", "--serve"],
            *["--scenarios", "single,peak", "--users", "8", "--duration", "8s", "--out", "cmp"],
        ],
        capture_output=True,
        text=True,
        timeout=900,  # three server starts, eight short runs, two probes; slow on a busy CI
        cwd=base,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return base / "cmp", proc


def test_compare_json_and_html_agree_with_each_run(
    compared: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, proc = compared
    result = json.loads((out / "compare.json").read_text())
    assert (result["a"], result["b"], result["schema_version"]) == ("batched", "unbatched", 2)
    assert [e["scenario"] for e in result["scenarios"]] == ["single", "peak"]
    html = (out / "compare.html").read_text()
    for entry in result["scenarios"]:
        for side, name in (("a", "batched"), ("b", "unbatched")):
            # ABBA: two half-length runs a side, both kept, pooled for the figures.
            run_dirs = [
                out / f"{entry['scenario']}-{side.upper()}-{name}-{part}" for part in (1, 2)
            ]
            assert [Path(d).name for d in entry[side]["run_dirs"]] == [d.name for d in run_dirs]
            summaries = [json.loads((d / "summary.json").read_text()) for d in run_dirs]
            rows = [json.loads(line) for d in run_dirs for line in (d / "records.jsonl").open()]
            fig = entry[side]
            assert fig["requests"] == sum(s["requests"] for s in summaries) == len(rows)
            ok_ms = [r["latency_s"] * 1000 for r in rows if r["error"] is None]
            assert fig["latency_ms"]["p50"] == pytest.approx(float(np.percentile(ok_ms, 50)))
            # QPS is what it is in a run's summary: successes over the load's duration, pooled
            duration_s = sum(s["duration_s"] for s in summaries)
            assert fig["duration_s"] == pytest.approx(duration_s)
            assert fig["qps"] == pytest.approx(len(ok_ms) / duration_s)
            assert fig["startup_s"] == summaries[0]["startup"]["ready_s"]
            assert all((d / "report.html").exists() for d in run_dirs)
            assert all((d / "vectors.jsonl").exists() for d in run_dirs)  # kept for the probe
            assert summaries[0]["server_model"]["truncate"] is True  # minilm's default
        metrics = {d["metric"]: d for d in entry["differences"]}
        assert list(metrics) == [
            "p50",
            "p90",
            "p99",
            "qps",
            "inputs_per_s",
            "tokens_per_s",
            "error_rate",
        ]
        p50, qps = metrics["p50"], metrics["qps"]
        assert p50["a"] == pytest.approx(entry["a"]["latency_ms"]["p50"])
        assert p50["ratio"] == pytest.approx(p50["b"] / p50["a"])
        assert (qps["a"], qps["b"]) == (
            pytest.approx(entry["a"]["qps"]),
            pytest.approx(entry["b"]["qps"]),
        )
        # 4 s halves: enough one-second windows for an interval, which holds the estimate
        assert p50["low"] <= p50["ratio"] - 1 <= p50["high"], p50
        assert f'data-scenario="{entry["scenario"]}"' in html and p50["verdict"] in html
    assert "single: batched vs unbatched" in proc.stdout and "verdict" in proc.stdout
    # The probe ran on each target while its server was up; batching must not move a vector.
    assert set(result["probe"]) == {"a", "b"}
    for probed in result["probe"].values():
        consistency = probed["consistency"]
        assert probed["flags"] == [] and consistency["under_load_samples"] > 0
        assert consistency["under_load_worst"] >= 0.999 and consistency["burst_worst"] >= 0.999
    assert "quality probe" in proc.stdout and "code_doc" in html
    assert "starting batched" in proc.stdout and "starting unbatched" in proc.stdout
    # each server was started with its own serve table, on its url's port
    for name, extra in (("batched", ""), ("unbatched", " --max-batch-size 1")):
        run_dir = out / f"peak-{'A' if name == 'batched' else 'B'}-{name}-2"
        startup = json.loads((run_dir / "summary.json").read_text())["startup"]
        assert re.fullmatch(rf"embload serve --port \d+{extra}", startup["command"]), startup


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("saved")
    write_run(base / "fast", 6000, seed=1)
    write_run(base / "slow", 6000, seed=2, slower=2.0)  # every latency doubled
    return base / "fast", base / "slow"


def compare(a: Path, b: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [*EMBLOAD, "compare", str(a), str(b), "--out", str(out), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_a_run_against_itself_is_no_difference_and_no_regression(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    fast, _ = saved
    proc = compare(fast, fast, tmp_path / "same", "--fail-on-regression", "0%")
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads((tmp_path / "same" / "compare.json").read_text())["scenarios"]
    assert {d["verdict"] for d in entry["differences"]} == {"no significant difference"}


def test_a_slower_run_is_a_regression_past_the_threshold(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    fast, slow = saved
    proc = compare(fast, slow, tmp_path / "worse", "--fail-on-regression", "10%")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: slow regressed beyond 10%: peak p50: fast faster by 5")
    assert "; peak p90: fast faster by" in last and "; peak p99: fast faster by" in last
    (entry,) = json.loads((tmp_path / "worse" / "compare.json").read_text())["scenarios"]
    p50 = next(d for d in entry["differences"] if d["metric"] == "p50")
    assert p50["ratio"] == pytest.approx(2.0, rel=0.05) and p50["low"] > 0.8
    # the other way round, B is the faster one: no regression at any threshold
    better = compare(slow, fast, tmp_path / "better", "--fail-on-regression", "0%")
    assert better.returncode == 0, better.stderr


class _Failing(QuietHandler):
    """A server that lists a model and answers HTTP 500 to every embeddings request."""

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "broken"}]}')

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._send(500, b'{"error": {"message": "internal error"}}')


@pytest.fixture
def failing_server() -> Iterator[str]:
    with serving(_Failing) as url:
        yield f"{url}/v1"


def compare_live(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # 8 s: 4 s halves, enough one-second windows a side for a verdict
    cmd = [*EMBLOAD, "compare", *args, "--scenarios", "single", "--duration", "8s"]
    return subprocess.run(
        [*cmd, "--no-probe", "--out", "cmp"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_a_target_failing_every_request_is_a_regression(
    reference_server: str, failing_server: str, tmp_path: Path
) -> None:
    targets = ["--target", f"good={reference_server}", "--target", f"bad={failing_server}"]
    proc = compare_live(tmp_path, "good", "bad", *targets, "--fail-on-regression", "10%")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: bad regressed beyond 10%: single: B had no successful requests")
    assert "single error_rate: good fewer errors by 100.0 pp" in last
    # the table names the error rate, and A's own figures stand whatever B did
    rows = {line.split("  ")[0].strip(): line for line in proc.stdout.splitlines()}
    assert "0.00%" in rows["error rate"] and "100.00%" in rows["error rate"], proc.stdout
    (entry,) = json.loads((tmp_path / "cmp" / "compare.json").read_text())["scenarios"]
    metrics = {d["metric"]: d for d in entry["differences"]}
    for metric in ("p50", "p99", "qps"):
        assert metrics[metric]["a"] is not None and metrics[metric]["a"] > 0, metrics[metric]
    assert metrics["error_rate"]["interval_of"] == "b - a" and metrics["error_rate"]["b"] == 1.0


def test_the_same_target_on_both_sides_is_compared_by_position(
    reference_server: str, tmp_path: Path
) -> None:
    proc = compare_live(tmp_path, "same", "same", "--target", f"same={reference_server}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (entry,) = json.loads((tmp_path / "cmp" / "compare.json").read_text())["scenarios"]
    assert [Path(d).name for d in entry["a"]["run_dirs"]] == ["single-A-same-1", "single-A-same-2"]
    assert [Path(d).name for d in entry["b"]["run_dirs"]] == ["single-B-same-1", "single-B-same-2"]
    for side in ("a", "b"):
        dirs = [tmp_path / d for d in entry[side]["run_dirs"]]
        assert (
            entry[side]["requests"]
            == sum(json.loads((d / "summary.json").read_text())["requests"] for d in dirs)
            > 0
        )


def test_unknown_target_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*EMBLOAD, "compare", "qwen", "nope", "--duration", "1s"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown target 'nope'; known: bge, qwen, or define it in embload.toml"
    ]
