"""The exit-code policy: the first that holds of full disk, signal, crash, threshold, failures."""

from __future__ import annotations

from pathlib import Path

from loadtest.core.errors import EmbloadError, Interrupted, RequestsFailed, ThresholdCrossed
from loadtest.core.outcome import run_outcome
from loadtest.core.results import ThresholdVerdict
from loadtest.core.types import ErrorKind, OomEvent, OomKind
from tests.support.records import rec, summary

RUN = Path("reports/run")
GOOD = summary([rec(0.01), rec(0.02)])
FAILED = summary([rec(0.01), rec(0.02, ErrorKind.TIMEOUT)])


def _crossed(metric: str, held: bool) -> ThresholdVerdict:
    return ThresholdVerdict(threshold=f"{metric}<1", metric=metric, value=2.0, limit=1.0, held=held)


def test_all_well_is_no_error() -> None:
    assert run_outcome([(RUN, GOOD)]) is None


def test_failed_requests_are_1_unless_an_error_rate_threshold_allowed_them() -> None:
    failed = run_outcome([(RUN, GOOD), (RUN, FAILED)])
    assert isinstance(failed, RequestsFailed) and failed.exit_code == 1
    assert failed.line == "1 requests failed; every one is in records.jsonl of its run"
    tolerated = FAILED.model_copy(update={"thresholds": [_crossed("error_rate", True)]})
    assert run_outcome([(RUN, tolerated)]) is None


def test_the_first_that_holds_decides() -> None:
    crossed = FAILED.model_copy(update={"thresholds": [_crossed("p99", False)]})
    outcome = run_outcome([(RUN, crossed)])
    assert isinstance(outcome, ThresholdCrossed) and outcome.exit_code == 3
    crash = OomEvent(100.0, OomKind.SERVER_CRASH, "refused after 2 replies")
    crashed = crossed.model_copy(update={"oom_events": [crash]})
    assert run_outcome([(RUN, crashed)]).exit_code == 1  # type: ignore[union-attr]
    cut = crashed.model_copy(update={"interrupted": "SIGTERM"})
    interrupted = run_outcome([(RUN, cut)])
    assert isinstance(interrupted, Interrupted) and interrupted.exit_code == 143
    full = cut.model_copy(update={"write_error": "cannot write records.jsonl: No space"})
    disk = run_outcome([(RUN, GOOD), (RUN, full)])
    assert type(disk) is EmbloadError and disk.exit_code == 2
    assert disk.line.endswith(f"the load stopped there; what was written is kept in {RUN}")
