from __future__ import annotations

from pathlib import Path

from loadtest.history import history_path
from loadtest.report.terminal import sparkline


def test_the_index_lives_beside_the_reports_unless_moved_or_off() -> None:
    assert history_path(Path("reports"), None) == Path("reports/history.sqlite")
    assert history_path(Path("reports"), "/data/runs.sqlite") == Path("/data/runs.sqlite")
    assert history_path(Path("reports"), "OFF") is None


def test_a_sparkline_runs_lowest_to_highest_with_gaps() -> None:
    assert sparkline([1.0, 2.0, None, 8.0]) == "▁▂ █"
    assert sparkline([5.0, 5.0]) == "▁▁"
    assert sparkline([None]) == ""
