from __future__ import annotations

import sqlite3
from pathlib import Path

from loadtest.output.terminal import sparkline
from loadtest.store.history import _SCHEMA, comparisons, entries, history_path, judge


def test_the_index_lives_beside_the_reports_unless_moved_or_off() -> None:
    assert history_path(Path("reports"), None) == Path("reports/history.sqlite")
    assert history_path(Path("reports"), "/data/runs.sqlite") == Path("/data/runs.sqlite")
    assert history_path(Path("reports"), "OFF") is None


def test_a_sparkline_runs_lowest_to_highest_with_gaps() -> None:
    assert sparkline([1.0, 2.0, None, 8.0]) == "▁▂ █"
    assert sparkline([5.0, 5.0]) == "▁▁"
    assert sparkline([None]) == ""


def test_an_index_from_before_kept_comparisons_gains_the_column(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    old = _SCHEMA.replace(",\n    comparison TEXT", "")
    assert old != _SCHEMA
    with sqlite3.connect(db) as conn:
        conn.executescript(old)
        conn.execute(
            "INSERT INTO entries (dir, kind, started_at_unix, target, scenario, load_key, "
            "regression, baseline) VALUES ('/r/b', 'run', 2.0, 't', 's', 'k', '[]', '/r/a')"
        )
    conn.close()
    assert comparisons(db) == {}  # read, and the column added
    (entry,) = entries(db)
    assert entry.regression == [] and entry.baseline == "/r/a"
    judge(db, "/r/b", ["s p99: worse"], "/r/a", '{"kept": 1}')
    assert comparisons(db) == {"/r/b": '{"kept": 1}'}
    assert entries(db)[0].regression == ["s p99: worse"]
