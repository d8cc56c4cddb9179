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

[targets.small-batches]
url = "http://127.0.0.1:{free_port()}/v1"
serve = {{ model = "minilm", max_batch_size = 4 }}
"""
    )
    proc = subprocess.run(
        [
            *[*EMBLOAD, "compare", "batched", "unbatched", "small-batches", "--serve"],
            *["--scenarios", "peak", "--users", "8", "--duration", "6s", "--out", "cmp"],
            *["--warmup", "0"],  # test_output_paths.py's compare runs the default warm-up
            "--no-quality",  # the retrieval set in a compare: test_launch.py's minilm and infinity
        ],
        capture_output=True,
        text=True,
        timeout=1200,  # five server starts, six short runs, three probes; a busy CI
        cwd=base,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return base / "cmp", proc


_NAMES = ("batched", "unbatched", "small-batches")


def test_compare_json_and_html_agree_with_each_run(
    compared: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, proc = compared
    result = json.loads((out / "compare.json").read_text())
    assert (result["baseline"], result["schema_version"]) == ("batched", 3)
    assert [c["name"] for c in result["candidates"]] == list(_NAMES)
    # A B C C B A: the middle candidate's two halves share one start of its server
    assert result["order"] == ["batched", "unbatched", "small-batches", "unbatched", "batched"]
    assert result["level"] == pytest.approx(0.975)
    assert [e["scenario"] for e in result["scenarios"]] == ["peak"]
    html = (out / "compare.html").read_text()
    for entry in result["scenarios"]:
        assert entry["baseline"] == "batched"
        for letter, name, fig in zip("ABC", _NAMES, entry["sides"], strict=True):
            assert fig["candidate"] == name
            # two half-length runs a candidate, both kept, pooled for the figures
            run_dirs = [out / f"{entry['scenario']}-{letter}-{name}-{part}" for part in (1, 2)]
            assert [Path(d).name for d in fig["run_dirs"]] == [d.name for d in run_dirs]
            summaries = [json.loads((d / "summary.json").read_text()) for d in run_dirs]
            rows = [json.loads(line) for d in run_dirs for line in (d / "records.jsonl").open()]
            rows = [r for r in rows if not r["warmup"]]  # recorded, in no figure
            assert fig["requests"] == sum(s["requests"] for s in summaries) == len(rows)
            ok_ms = [r["latency_s"] * 1000 for r in rows if r["error"] is None]
            assert fig["latency_ms"]["p50"] == pytest.approx(float(np.percentile(ok_ms, 50)))
            # QPS is what it is in a run's summary: successes over the load's duration, pooled
            duration_s = sum(s["duration_s"] for s in summaries)
            assert fig["duration_s"] == pytest.approx(duration_s)
            assert fig["qps"] == pytest.approx(len(ok_ms) / duration_s)
            assert fig["startup_s"] == summaries[0]["startup"]["ready_s"]
            assert fig["peak_rss_bytes"] == max(
                s["server_process"]["peak_rss_bytes"] for s in summaries
            )
            assert all((d / "report.html").exists() for d in run_dirs)
            assert all((d / "vectors.jsonl").exists() for d in run_dirs)  # kept for the probe
        assert [v["candidate"] for v in entry["versus"]] == ["unbatched", "small-batches"]
        for versus, side in zip(entry["versus"], entry["sides"][1:], strict=True):
            metrics = {d["metric"]: d for d in versus["differences"]}
            assert list(metrics) == [
                "p50", "p90", "p99", "qps", "inputs_per_s", "tokens_per_s", "error_rate"
            ]  # fmt: skip
            p50, qps = metrics["p50"], metrics["qps"]
            assert p50["a"] == pytest.approx(entry["sides"][0]["latency_ms"]["p50"])
            assert p50["b"] == pytest.approx(side["latency_ms"]["p50"])
            assert p50["ratio"] == pytest.approx(p50["b"] / p50["a"])
            assert qps["b"] == pytest.approx(side["qps"])
            # 3 s halves: enough one-second windows for an interval, which holds the estimate
            assert p50["low"] <= p50["ratio"] - 1 <= p50["high"], p50
            assert f'data-scenario="{entry["scenario"]}"' in html
    assert "peak: against batched" in proc.stdout and "unbatched vs batched:" in proc.stdout
    candidates = {c["name"]: c for c in result["candidates"]}
    for name, c in candidates.items():
        assert c["not_measured"] is None and c["peak_rss_bytes"] > 0
        assert c["server_log"] == str(Path("cmp") / f"server-{name}.log")
        # the probe ran on each target while its server was up; batching must not move a vector
        consistency = c["probe"]["consistency"]
        assert c["probe"]["flags"] == [] and consistency["under_load_samples"] > 0
        assert consistency["under_load_worst"] >= 0.999 and consistency["burst_worst"] >= 0.999
        assert c["quality"] is None and c["agreement"] is None  # --no-quality
    assert "quality probe" in proc.stdout and "code_doc" in html
    assert "deployment" in proc.stdout and 'id="deployment"' in html
    assert all(f"starting {name}" in proc.stdout for name in _NAMES)
    # each server was started with its own serve table, on its url's port
    for letter, name, extra in (
        ("A", "batched", ""),
        ("B", "unbatched", " --max-batch-size 1"),
        ("C", "small-batches", " --max-batch-size 4"),
    ):
        startup = json.loads((out / f"peak-{letter}-{name}-2" / "summary.json").read_text())
        assert re.fullmatch(rf"embload serve --port \d+{extra}", startup["startup"]["command"])


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
    (versus,) = entry["versus"]
    assert {d["verdict"] for d in versus["differences"]} == {"no significant difference"}


def test_a_slower_run_is_a_regression_past_the_threshold(
    saved: tuple[Path, Path], tmp_path: Path
) -> None:
    fast, slow = saved
    proc = compare(fast, slow, tmp_path / "worse", "--fail-on-regression", "10%")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: worse than fast beyond 10%: peak p50: fast faster by 5")
    assert "; peak p90: fast faster by" in last and "; peak p99: fast faster by" in last
    (entry,) = json.loads((tmp_path / "worse" / "compare.json").read_text())["scenarios"]
    p50 = next(d for d in entry["versus"][0]["differences"] if d["metric"] == "p50")
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


def compare_live(
    tmp_path: Path, *args: str, warmup: bool = False
) -> subprocess.CompletedProcess[str]:
    # 8 s: 4 s halves, enough one-second windows a side for a verdict
    cmd = [*EMBLOAD, "compare", *args, "--scenarios", "single", "--duration", "8s"]
    cmd += [] if warmup else ["--warmup", "0"]  # the default: 2 s before every run
    return subprocess.run(
        [*cmd, "--no-probe", "--no-quality", "--out", "cmp"],
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
    assert last.startswith(
        "error: worse than good beyond 10%: single: bad had no successful requests"
    )
    assert "single error_rate: good fewer errors by 100.0 pp" in last
    # the table shows each one's error rate, and the baseline's figures stand whatever bad did
    table = proc.stdout.split("deployment")[0].splitlines()
    rows: dict[str, str] = {}
    for line in (line for line in table if line.strip()):
        rows.setdefault(line.split()[0], line)
    assert "0.00%" in rows["good"] and "100.00%" in rows["bad"], proc.stdout
    (entry,) = json.loads((tmp_path / "cmp" / "compare.json").read_text())["scenarios"]
    metrics = {d["metric"]: d for d in entry["versus"][0]["differences"]}
    for metric in ("p50", "p99", "qps"):
        assert metrics[metric]["a"] is not None and metrics[metric]["a"] > 0, metrics[metric]
    assert metrics["error_rate"]["interval_of"] == "b - a" and metrics["error_rate"]["b"] == 1.0


def test_the_same_target_twice_is_compared_by_position_with_its_capacity(
    reference_server: str, tmp_path: Path
) -> None:
    slo = ["--slo", "p99<200ms,error_rate<1%", "--slo-step", "1s", "--slo-precision", "100%"]
    proc = compare_live(tmp_path, "same", "same", "--target", f"same={reference_server}", *slo)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    (entry,) = result["scenarios"]
    a, b = entry["sides"]
    assert (a["candidate"], b["candidate"]) == ("same (A)", "same (B)")
    assert [Path(d).name for d in a["run_dirs"]] == ["single-A-same-1", "single-A-same-2"]
    assert [Path(d).name for d in b["run_dirs"]] == ["single-B-same-1", "single-B-same-2"]
    for side in (a, b):
        dirs = [tmp_path / d for d in side["run_dirs"]]
        assert (
            side["requests"]
            == sum(json.loads((d / "summary.json").read_text())["requests"] for d in dirs)
            > 0
        )
    # --slo: each candidate's capacity is its own sweep's answer, in the compare's scenario
    assert result["slo"] == "p99<200ms,error_rate<1%"
    for letter, c in zip("AB", result["candidates"], strict=True):
        capacity = c["capacity"]
        sweep_dir = tmp_path / "cmp" / f"capacity-{letter}-same"
        assert capacity["sweep_dir"] == str(Path("cmp") / sweep_dir.name)
        sweep = json.loads((sweep_dir / "sweep.json").read_text())
        assert capacity["scenario"] == sweep["scenario"] == "single"
        assert capacity["max_rps_within_slo"] == sweep["max_rps_within_slo"] > 0
        answer = json.loads((sweep_dir / sweep["answer"]["run_dir"] / "summary.json").read_text())
        assert capacity["tokens_per_s"] == pytest.approx(answer["tokens_per_s"])
        assert capacity["usd_per_1m_tokens"] is None  # no price given
    assert "cap r/s" in proc.stdout, proc.stdout
    assert result["pareto"] is None  # no retrieval quality measured: no front


def test_a_bad_slo_is_refused_before_any_load(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*EMBLOAD, "compare", "qwen", "bge", "--slo", "p99<<100ms", "--duration", "1s"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: --slo: "), line
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


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


def test_a_candidate_that_cannot_start_is_named_and_the_others_kept(
    reference_server: str, tmp_path: Path
) -> None:
    (tmp_path / "embload.toml").write_text(
        f"""
[targets.good]
url = "{reference_server}"

[targets.broken]
url = "http://127.0.0.1:{free_port()}/v1"
command = "no-such-embedding-server --port {{port}}"
"""
    )
    proc = compare_live(tmp_path, "good", "broken", "--serve", warmup=True)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = Path("cmp") / "server-broken.log"
    assert proc.stderr.strip().splitlines() == [
        "error: not measured: broken: its command's program no-such-embedding-server was not "
        f"found (log: {log})"
    ]
    assert "no-such-embedding-server" in (tmp_path / log).read_text()
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    good, broken = result["candidates"]
    assert good["not_measured"] is None and broken["not_measured"].startswith("broken: its")
    assert broken["server_log"] == str(log)
    (entry,) = result["scenarios"]  # good's runs are kept and summed up
    assert [s["candidate"] for s in entry["sides"]] == ["good"] and entry["versus"] == []
    assert result["order"] == ["good", "broken", "good"]
    runs = sorted((tmp_path / "cmp").glob("single-A-good-*/summary.json"))
    assert len(runs) == 2  # good's two halves, each warmed up by default
    for run in runs:
        warmup = json.loads(run.read_text())["warmup"]
        assert warmup["asked"] == "2 s" and warmup["requests"] > 0, run
