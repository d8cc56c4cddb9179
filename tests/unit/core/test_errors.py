"""One error hierarchy: a line and an exit code each, told apart by class."""

from __future__ import annotations

import signal
from pathlib import Path

from loadtest.core.errors import (
    EmbloadError,
    Interrupted,
    NotARun,
    RequestsFailed,
    ServeError,
    StoreError,
    TargetError,
    TargetUnreachable,
    ThresholdCrossed,
    UsageError,
)


def test_each_error_carries_its_line_and_its_exit_code() -> None:
    assert (UsageError("bad").line, UsageError("bad").exit_code) == ("bad", 2)
    assert RequestsFailed("x").exit_code == 1 and ThresholdCrossed("x").exit_code == 3
    assert Interrupted(signal.SIGINT).exit_code == 130
    assert Interrupted(signal.SIGTERM, Path("r")).exit_code == 143
    assert isinstance(TargetUnreachable("x"), TargetError) and isinstance(NotARun("x"), StoreError)
    assert all(
        issubclass(c, EmbloadError) for c in (UsageError, TargetError, ServeError, StoreError)
    )


def test_a_prefix_says_where_and_keeps_the_kind_and_code() -> None:
    where = Interrupted(signal.SIGTERM, Path("reports/x")).prefixed("bge: ")
    assert isinstance(where, Interrupted) and where.exit_code == 143
    assert where.line.startswith("bge: interrupted by SIGTERM") and str(where) == where.line
    serve = ServeError("port 30000 is already in use").prefixed("qwen: ")
    assert type(serve) is ServeError and serve.line == "qwen: port 30000 is already in use"
