"""`embload compare` end to end: two bundled servers (minilm with dynamic batching on and off),
started in turn, and the comparison of two saved runs with --fail-on-regression."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import free_port

EMBLOAD = [sys.executable, "-m", "loadtest.cli"]


@pytest.fixture(scope="module")
def compared(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("compare")
    (base / "embload.toml").write_text(
        f"""
[targets.batched]
url = "http://127.0.0.1:{free_port()}/v1"
serve = ["--model", "minilm", "--truncate"]

[targets.unbatched]
url = "http://127.0.0.1:{free_port()}/v1"
serve = ["--model", "minilm", "--truncate", "--max-batch-size", "1"]
"""
    )
    proc = subprocess.run(
        [
            *[*EMBLOAD, "compare", "batched", "unbatched", "--serve"],
            *["--scenarios", "single,peak", "--users", "8", "--duration", "3s", "--out", "cmp"],
        ],
        capture_output=True,
        text=True,
        timeout=900,  # three server starts, eight short runs, two probes; slow on a busy CI
        cwd=base,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return base / "cmp", proc


def test_compare_json_html_and_verdicts_agree_with_each_run(
    compared: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, proc = compared
    result = json.loads((out / "compare.json").read_text())
    assert (result["a"], result["b"]) == ("batched", "unbatched")
    assert [e["scenario"] for e in result["scenarios"]] == ["single", "peak"]
    html = (out / "compare.html").read_text()
    for entry in result["scenarios"]:
        for side, name in (("a", "batched"), ("b", "unbatched")):
            # ABBA: two half-length runs a side, both kept, pooled for the figures.
            run_dirs = [out / f"{entry['scenario']}-{name}-{part}" for part in (1, 2)]
            assert [Path(d).name for d in entry[side]["run_dirs"]] == [d.name for d in run_dirs]
            summaries = [json.loads((d / "summary.json").read_text()) for d in run_dirs]
            rows = [json.loads(line) for d in run_dirs for line in (d / "records.jsonl").open()]
            assert entry[side]["requests"] == sum(s["requests"] for s in summaries) == len(rows)
            ok_ms = [r["latency_s"] * 1000 for r in rows if r["error"] is None]
            assert entry[side]["latency_ms"]["p50"] == pytest.approx(
                float(np.percentile(ok_ms, 50))
            )
            assert entry[side]["startup_s"] == summaries[0]["startup"]["ready_s"]
            assert all((d / "report.html").exists() for d in run_dirs)
            assert all((d / "vectors.jsonl").exists() for d in run_dirs)  # kept for the probe
        metrics = {d["metric"]: d for d in entry["differences"]}
        assert set(metrics) == {
            "p50",
            "p90",
            "p99",
            "qps",
            "inputs_per_s",
            "tokens_per_s",
            "error_rate",
        }
        p50 = metrics["p50"]
        assert p50["a"] == pytest.approx(entry["a"]["latency_ms"]["p50"])
        assert p50["ratio"] == pytest.approx(p50["b"] / p50["a"])
        if p50["verdict"] != "no significant difference":
            assert p50["low"] * p50["high"] > 0  # the interval excludes zero
            winner = "unbatched" if p50["high"] < 0 else "batched"
            assert p50["verdict"].startswith(f"{winner} faster by")
        assert f'data-scenario="{entry["scenario"]}"' in html and p50["verdict"] in html
    assert "single: batched vs unbatched" in proc.stdout and "verdict" in proc.stdout
    # The probe ran on each target while its server was up; batching must not move a vector.
    assert set(result["probe"]) == {"batched", "unbatched"}
    for probed in result["probe"].values():
        consistency = probed["consistency"]
        assert probed["flags"] == [] and consistency["under_load_samples"] > 0
        assert consistency["under_load_worst"] >= 0.999 and consistency["burst_worst"] >= 0.999
    assert "quality probe" in proc.stdout and "code_doc" in html
    assert "starting batched" in proc.stdout and "starting unbatched" in proc.stdout


def test_compare_two_saved_runs_and_fail_on_regression(
    compared: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, _ = compared
    a, b = out / "peak-batched-1", out / "peak-unbatched-1"
    same = subprocess.run(
        [
            *EMBLOAD,
            "compare",
            str(a),
            str(a),
            "--fail-on-regression",
            "10%",
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert same.returncode == 0, same.stderr  # a run against itself never regresses
    verdicts = [
        d["verdict"]
        for d in json.loads((tmp_path / "x" / "compare.json").read_text())["scenarios"][0][
            "differences"
        ]
    ]
    # Rates need several whole seconds a side; these short halves may have too few.
    allowed = ("no significant difference", "no errors on either side", "not enough windows")
    assert all(v in allowed for v in verdicts), verdicts
    both = subprocess.run(
        [
            *EMBLOAD,
            "compare",
            str(a),
            str(b),
            "--fail-on-regression",
            "0%",
            "--out",
            str(tmp_path / "y"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads((tmp_path / "y" / "compare.json").read_text())
    worse = [
        d
        for d in result["scenarios"][0]["differences"]
        if d["low"] is not None
        and (
            d["low"] > 0
            if d["metric"].startswith("p") or d["metric"] == "error_rate"
            else d["high"] < 0
        )
    ]
    assert both.returncode == (1 if worse else 0), both.stderr
    if worse:
        assert (
            both.stderr.strip()
            .splitlines()[-1]
            .startswith("error: peak-unbatched-1 regressed beyond 0%")
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
