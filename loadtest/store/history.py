"""The run index: every run, compare and sweep, one row each, in SQLite beside the reports.

A run is indexed by whoever wrote its summary.json (the Locust process: `embload run` and plain
`locust -f` alike), a compare and a sweep by the command, once their JSON is written;
`embload history --rebuild` indexes what is already on disk. A row keeps what a trend needs (the
headline figures) and what makes two runs comparable (`load_key`: the target, scenario and load
settings, which must all match); the run directory stays the source of truth. A run's
regression verdict is worked out later, against the previous comparable run's records
(trend.py), and kept here once known.

Indexing never fails a run: a database that cannot be opened or written is one warning.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from loadtest.core.comparisons import Comparison
from loadtest.core.errors import HistoryError, NotARun
from loadtest.core.results import RunSummary
from loadtest.core.sweep import SweepResult
from loadtest.store.files import COMPARE, SUMMARY, SWEEP, read_summary

HISTORY_FILE = "history.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    dir TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    started_at_unix REAL NOT NULL,
    target TEXT NOT NULL,
    scenario TEXT NOT NULL,
    load_key TEXT NOT NULL,
    requests INTEGER,
    ok INTEGER,
    p50_ms REAL,
    p99_ms REAL,
    qps REAL,
    error_rate REAL,
    note TEXT,
    regression TEXT,
    baseline TEXT,
    comparison TEXT
);
CREATE INDEX IF NOT EXISTS entries_by_load ON entries (load_key, started_at_unix);
"""


_COLUMNS = (
    "dir",
    "kind",
    "started_at_unix",
    "target",
    "scenario",
    "load_key",
    "requests",
    "ok",
    "p50_ms",
    "p99_ms",
    "qps",
    "error_rate",
    "note",
    "regression",
    "baseline",
)


@dataclass(frozen=True)
class Entry:
    """One row: a run (`kind` run), a compare or a sweep. `regression`: None while not yet
    judged, [] when judged and not worse, else what was significantly worse; `baseline`: the
    run it was judged against."""

    dir: str
    kind: str
    started_at_unix: float
    target: str
    scenario: str
    load_key: str
    requests: int | None
    ok: int | None
    p50_ms: float | None
    p99_ms: float | None
    qps: float | None
    error_rate: float | None
    note: str | None
    regression: list[str] | None
    baseline: str | None


@dataclass(frozen=True)
class Trend:
    """One target and scenario's runs, oldest first: their P99 and QPS, for a sparkline."""

    target: str
    scenario: str
    runs: int
    p99_ms: list[float | None]
    qps: list[float | None]
    regressions: int


def trends(runs: list[Entry]) -> list[Trend]:
    """Runs grouped by target and scenario, in the order they came."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for run in runs:
        groups.setdefault((run.target, run.scenario), []).append(run)
    return [
        Trend(
            target=target,
            scenario=scenario,
            runs=len(group),
            p99_ms=[r.p99_ms for r in group],
            qps=[r.qps for r in group],
            regressions=sum(1 for r in group if r.regression),
        )
        for (target, scenario), group in groups.items()
    ]


def history_path(reports: Path, given: str | None) -> Path | None:
    """--history: a path, `off` for none, else <reports>/history.sqlite."""
    if given is None:
        return reports / HISTORY_FILE
    return None if given.strip().lower() == "off" else Path(given)


def load_key(summary: RunSummary) -> str:
    """What two runs must share to be compared: target, scenario and how the load was made."""
    load = summary.load
    key = {
        "target": summary.target,
        "scenario": summary.scenario,
        "model": summary.model,
        "mode": load.mode if load else "closed",
        "offered_rps": load.offered_rps if load else None,
        "users": summary.users,
        "inputs_per_request": summary.inputs_per_request,
        "encoding_format": summary.encoding_format,
        "dimensions": summary.dimensions,
        "corpus": summary.corpus,
        "instruction": summary.instruction,
    }
    return json.dumps(key, sort_keys=True)


@contextlib.contextmanager
def _db(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(f"cannot open the run history {path}: {exc}") from None
    try:
        with conn:
            conn.executescript(_SCHEMA)
            known = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
            if "comparison" not in known:  # an index made before verdicts kept their comparison
                conn.execute("ALTER TABLE entries ADD COLUMN comparison TEXT")
            yield conn
    except sqlite3.Error as exc:
        raise HistoryError(f"the run history {path}: {exc}") from None
    finally:
        conn.close()


def _put(conn: sqlite3.Connection, row: dict[str, object]) -> None:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    # a run indexed again (--rebuild) keeps its verdict: only its figures are refreshed
    updates = ", ".join(f"{n} = excluded.{n}" for n in row if n != "dir")
    conn.execute(
        f"INSERT INTO entries ({names}) VALUES ({marks}) ON CONFLICT(dir) DO UPDATE SET {updates}",
        list(row.values()),
    )


def _run_row(run_dir: Path, s: RunSummary) -> dict[str, object]:
    note = f"interrupted by {s.interrupted}" if s.interrupted else s.write_error
    return {
        "dir": str(run_dir.resolve()),
        "kind": "run",
        "started_at_unix": s.started_at_unix,
        "target": s.target,
        "scenario": s.scenario,
        "load_key": load_key(s),
        "requests": s.requests,
        "ok": s.ok,
        "p50_ms": s.latency_ms.p50,
        "p99_ms": s.latency_ms.p99,
        "qps": s.qps,
        "error_rate": s.error_rate,
        "note": note,
    }


def _index(path: Path | None, rows: Iterable[dict[str, object]]) -> str | None:
    """The rows in the index at `path` (None: the index is off), through one connection; a
    warning if they cannot be."""
    if path is None:
        return None
    try:
        with _db(path) as conn:
            for row in rows:
                _put(conn, row)
    except HistoryError as exc:
        return str(exc)
    return None


def _compare_row(where: Path, result: Comparison, at: float) -> dict[str, object]:
    return {
        "dir": str(where.resolve()),
        "kind": "compare",
        "started_at_unix": at,
        "target": " vs ".join(result.names),
        "scenario": ",".join(s.scenario for s in result.scenarios),
        "load_key": "",
        "note": f"compare.json: {len(result.scenarios)} scenario(s)",
    }


def _sweep_row(where: Path, result: SweepResult, at: float) -> dict[str, object]:
    answer = result.max_rps_within_slo
    note = f"max {answer:.1f} req/s within the SLO" if answer is not None else None
    return {
        "dir": str(where.resolve()),
        "kind": "sweep",
        "started_at_unix": at,
        "target": result.target,
        "scenario": result.scenario,
        "load_key": "",
        "note": note or f"{result.kind} sweep of {len(result.steps)} steps",
    }


def index_run(path: Path | None, run_dir: Path, summary: RunSummary) -> str | None:
    return _index(path, [_run_row(run_dir, summary)])


def index_compare(path: Path | None, where: Path, result: Comparison, at: float) -> str | None:
    return _index(path, [_compare_row(where, result, at)])


def index_sweep(path: Path | None, where: Path, result: SweepResult, at: float) -> str | None:
    return _index(path, [_sweep_row(where, result, at)])


def _found(reports: Path) -> Iterator[dict[str, object]]:
    """The row of every run, compare and sweep under `reports`; a compare or sweep is dated by
    its JSON file's time."""
    for summary_file in sorted(reports.rglob(SUMMARY)):
        try:
            summary = read_summary(summary_file.parent)
        except NotARun:  # a damaged or foreign folder: not a run
            continue
        yield _run_row(summary_file.parent, summary)
    for name in (COMPARE, SWEEP):
        for file in sorted(reports.rglob(name)):
            try:
                text, at = file.read_text(), file.stat().st_mtime
                if name == COMPARE:
                    row = _compare_row(file.parent, Comparison.model_validate_json(text), at)
                else:
                    row = _sweep_row(file.parent, SweepResult.model_validate_json(text), at)
            except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
                continue
            yield row


def rebuild(path: Path, reports: Path) -> int:
    """Every run directory under `reports` (those inside compares and sweeps too), compare and
    sweep indexed, in one transaction; how many. HistoryError when the index cannot be
    written."""
    rows = list(_found(reports))
    if failed := _index(path, rows):
        raise HistoryError(failed)
    return len(rows)


def entries(path: Path) -> list[Entry]:
    """Every row, oldest first."""
    if not path.exists():
        return []
    with _db(path) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM entries ORDER BY started_at_unix"
        ).fetchall()
    found = []
    for row in rows:
        values = dict(zip(_COLUMNS, row, strict=True))
        verdict = values.pop("regression")
        found.append(Entry(**values, regression=None if verdict is None else json.loads(verdict)))
    return found


def judge(
    path: Path,
    run_dir: str,
    regression: list[str],
    baseline: str | None,
    comparison: str | None,
) -> None:
    """Keep a run's verdict: what was significantly worse than `baseline` ([] for nothing), and
    the comparison it came from (ScenarioComparison's JSON), so another threshold can judge it
    again without bootstrapping again."""
    with _db(path) as conn:
        conn.execute(
            "UPDATE entries SET regression = ?, baseline = ?, comparison = ? WHERE dir = ?",
            (json.dumps(regression), baseline, comparison, run_dir),
        )


def comparisons(path: Path) -> dict[str, str]:
    """Each judged run's comparison with its baseline (ScenarioComparison's JSON), by its dir."""
    if not path.exists():
        return {}
    with _db(path) as conn:
        rows = conn.execute("SELECT dir, comparison FROM entries WHERE comparison IS NOT NULL")
        return dict(rows.fetchall())
