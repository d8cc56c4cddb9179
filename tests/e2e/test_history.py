"""Every run indexed; a run three times slower than the one before it flagged a regression."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

from tests.support.commands import EMBLOAD, clean_env
from tests.support.http import QuietHandler, embeddings_reply, serving


class Tunable(QuietHandler):
    """Answers every request after `service_s`: the test makes it slower between runs."""

    service_s: ClassVar[float] = 0.004

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "tunable"}]}')

    def do_POST(self) -> None:
        body = embeddings_reply(self._body())
        time.sleep(self.service_s)
        self._send(200, body)


def _embload(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(
        [*EMBLOAD, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=clean_env()
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def _history(cwd: Path, *args: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_embload(["history", "--json", *args], cwd))
    return doc


def test_a_run_three_times_slower_is_a_regression_and_the_first_is_not(tmp_path: Path) -> None:
    with serving(Tunable) as host:
        url = f"{host}/v1"
        run = ["run", "--target", url, "--scenario", "single", "--duration", "5s"]
        Tunable.service_s = 0.004
        _embload([*run, "--out", "fast"], tmp_path)
        Tunable.service_s = 0.012
        _embload([*run, "--out", "slow"], tmp_path)
        _embload([*run, "--scenario", "medium", "--duration", "2s", "--out", "other"], tmp_path)
    doc = _history(tmp_path, "--scenario", "single")
    assert doc["history"] == "reports/history.sqlite"
    fast, slow = doc["runs"]
    assert (fast["dir"], slow["dir"]) == (str(tmp_path / "fast"), str(tmp_path / "slow"))
    assert fast["regression"] == [] and fast["baseline"] is None
    assert slow["baseline"] == fast["dir"] and slow["regression"], slow
    worse = slow["regression"]
    assert any(line.startswith("single p50: the previous run faster") for line in worse), worse
    assert slow["p50_ms"] > 2.5 * fast["p50_ms"]
    # another threshold judges the kept comparison again: three times slower is not past 200%
    lenient = _history(tmp_path, "--scenario", "single", "--regression-threshold", "200%")
    assert [r["regression"] for r in lenient["runs"]] == [[], []], lenient["runs"]
    assert _history(tmp_path, "--scenario", "single")["runs"][1]["regression"] == worse
    # the report links to the target's trend: the comparable runs up to it, each linked
    page = (tmp_path / "slow/report.html").read_text()
    assert 'data-section="trend"' in page and 'href="../fast/report.html"' in page
    assert "this run" in page and "not judged yet" in page  # judged by `embload history`
    _embload(["report", "slow"], tmp_path)
    assert "the previous run faster" in (tmp_path / "slow/report.html").read_text()
    (trend,) = doc["trends"]
    assert (trend["target"], trend["scenario"], trend["runs"]) == (url, "single", 2)
    assert trend["regressions"] == 1
    # the other scenario is no baseline for these, nor judged against them
    everything = _history(tmp_path)
    (other,) = [r for r in everything["runs"] if r["scenario"] == "medium"]
    assert other["regression"] == [] and other["baseline"] is None
    # an index lost is rebuilt from the run directories, with the same verdicts
    (tmp_path / "reports/history.sqlite").unlink()
    rebuilt = _history(tmp_path, "--rebuild", "--reports", ".", "--scenario", "single")
    assert [r["dir"] for r in rebuilt["runs"]] == [fast["dir"], slow["dir"]]
    assert [bool(r["regression"]) for r in rebuilt["runs"]] == [False, True]
    table = _embload(["history", "--target", url, "--reports", "."], tmp_path)
    assert "regression" in table and "single" in table and "medium" in table
