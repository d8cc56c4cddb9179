"""`embload history`: the index's runs over time, each judged against the run before it.

A run is compared with the previous comparable run (the same target, scenario and load
settings: history.load_key), by the compare's own statistics on both runs' records (block
bootstrap intervals, comparison.compare_runs), and flagged a regression when any metric is
significantly worse by more than the threshold (core/compare.regressions). The verdict is kept
in the index, so each pair is bootstrapped once. A run cut short (interrupted, a full disk) is
neither judged nor a baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loadtest.comparison import compare_runs
from loadtest.core.compare import regressions
from loadtest.history import Entry, Trend, entries, judge, rebuild, trends
from loadtest.settings import HistorySettings
from loadtest.store import NotARun

_NAMES = ("the previous run", "this run")


@dataclass(frozen=True)
class History:
    entries: list[Entry]
    trends: list[Trend]
    indexed: int | None  # with --rebuild: how many were indexed


def _verdict(before: Entry, run: Entry, threshold: float, seed: int) -> list[str] | None:
    try:
        scenario = compare_runs([Path(before.dir)], [Path(run.dir)], _NAMES, seed)
    except (NotARun, OSError, ValueError):  # a run directory moved or deleted since
        return None
    return regressions([scenario], threshold)


def _judge_all(db: Path, threshold: float, seed: int) -> None:
    last: dict[str, Entry] = {}
    for run in (e for e in entries(db) if e.kind == "run"):
        if run.note is not None:  # cut short: neither judged nor a baseline
            continue
        before = last.get(run.load_key)
        if run.regression is None:
            verdict = [] if before is None else _verdict(before, run, threshold, seed)
            if verdict is not None:
                judge(db, run.dir, verdict, before.dir if before else None)
        last[run.load_key] = run


def history(settings: HistorySettings, db: Path) -> History:
    """The index (rebuilt first with --rebuild), every run judged, filtered as asked."""
    indexed = rebuild(db, settings.reports) if settings.rebuild else None
    _judge_all(db, settings.regression_threshold, settings.seed)
    shown = [
        e
        for e in entries(db)
        if (settings.target is None or settings.target in e.target)
        and (settings.scenario is None or e.scenario == settings.scenario)
    ]
    return History(shown, trends([e for e in shown if e.kind == "run"]), indexed)
