"""`embload history`: the index's runs over time, each judged against the run before it.

A run is compared with the previous comparable run (the same target, scenario and load
settings: history.load_key), by the compare's own statistics on both runs' records (block
bootstrap intervals, analysis/compare.compare_runs), and flagged a regression when any metric is
significantly worse by more than the threshold (core/compare.regressions). The comparison is
kept in the index with the verdict, so each pair is bootstrapped once and another
--regression-threshold judges it again at once. A run cut short (interrupted, a full disk) is
neither judged nor a baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from loadtest.analysis.compare import compare_runs
from loadtest.config.commands import HistorySettings
from loadtest.core.compare import regressions
from loadtest.core.comparisons import ScenarioComparison
from loadtest.core.errors import NotARun
from loadtest.store.history import Entry, Trend, comparisons, entries, judge, rebuild, trends

_NAMES = ("the previous run", "this run")


@dataclass(frozen=True)
class History:
    entries: list[Entry]
    trends: list[Trend]
    indexed: int | None  # with --rebuild: how many were indexed


def _compared(before: Entry, run: Entry, seed: int) -> ScenarioComparison | None:
    try:
        return compare_runs([[Path(before.dir)], [Path(run.dir)]], list(_NAMES), 0, seed)
    except (NotARun, OSError, ValueError):  # a run directory moved or deleted since
        return None


def _kept(text: str | None) -> ScenarioComparison | None:
    """A comparison the index kept; None when there is none, or it was kept in an older shape
    (before compare.json's schema 3), so the pair is bootstrapped again."""
    if text is None:
        return None
    try:
        return ScenarioComparison.model_validate_json(text)
    except ValidationError:
        return None


def _judge_all(db: Path, threshold: float, seed: int) -> None:
    kept = comparisons(db)
    last: dict[str, Entry] = {}
    for run in (e for e in entries(db) if e.kind == "run"):
        if run.note is not None:  # cut short: neither judged nor a baseline
            continue
        before = last.get(run.load_key)
        last[run.load_key] = run
        if before is None:
            if run.regression != [] or run.baseline is not None:
                judge(db, run.dir, [], None, None)
            continue
        # bootstrapped once per pair: another threshold judges the kept comparison again
        found = _kept(kept.get(run.dir)) if run.baseline == before.dir else None
        scenario = found or _compared(before, run, seed)
        if scenario is None:
            continue
        verdict = regressions([scenario], threshold)
        if found is None or verdict != run.regression:
            judge(db, run.dir, verdict, before.dir, scenario.model_dump_json())


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
