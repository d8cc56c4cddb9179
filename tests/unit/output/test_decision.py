"""The decision table as a log shows it: 80 columns, verdicts whole, prices where given."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from loadtest.analysis.compare import Measured, comparison
from loadtest.core.comparisons import Comparison
from loadtest.output import present
from loadtest.output.decision import deployment_rows, scenario_rows, verdict_lines
from tests.support.synthetic import write_run


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Comparison]:
    base = tmp_path_factory.mktemp("decision")
    names = ["baseline-server", "a-much-slower-candidate", "another-candidate"]
    for seed, (name, slower) in enumerate(zip(names, (1.0, 2.0, 1.0), strict=True)):
        write_run(base / name, 2000, seed=seed, slower=slower)
    measured = [Measured(name=n, target=str(base / n), run_dirs=[base / n]) for n in names]
    return base, comparison({"saved": [[base / n] for n in names]}, measured, 0, 0, names)


def test_rows_show_each_candidate_against_the_baseline(result: tuple[Path, Comparison]) -> None:
    _, r = result
    (entry,) = r.scenarios
    rows = scenario_rows(entry)
    assert [row.baseline for row in rows] == [True, False, False]
    assert all(c.ratio == "" and c.better is None for c in rows[0].cells)
    p50 = rows[1].cells[0]
    assert p50.better is False and float(p50.ratio) == pytest.approx(2.0, rel=0.1)
    lines = verdict_lines(entry)
    slower = "a-much-slower-candidate vs baseline-server: P50 ms: baseline-server faster"
    assert lines[0].startswith(slower)
    assert lines[1] == "another-candidate vs baseline-server: no significant difference"


def test_a_price_gives_a_cost_cell(result: tuple[Path, Comparison]) -> None:
    _, r = result
    assert {row.cells[2] for row in deployment_rows(r)} == {"-"}
    priced = r.candidates[0].model_copy(update={"usd_per_1m_tokens": 0.8333})
    r2 = r.model_copy(update={"candidates": [priced, *r.candidates[1:]]})
    assert deployment_rows(r2)[0].cells[2] == "$0.8333"


def test_in_a_log_of_80_columns_nothing_is_cut(
    result: tuple[Path, Comparison], tmp_path: Path
) -> None:
    _, r = result
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False, color_system=None)
    present.compare(console, tmp_path, r, tmp_path / "compare.json")
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # no cell cut short
    flat = re.sub(r"\s+", " ", text)
    (entry,) = r.scenarios
    for line in verdict_lines(entry):
        assert line in flat, line  # wrapped at spaces only: the words are all whole
    assert (tmp_path / "compare.html").exists()
