"""A run's end: summary.json written from its files, the records read once and handed on."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from loadtest.analysis.summary import write_summary
from loadtest.core.columns import OPTIONAL, Coded
from loadtest.core.record import RECORDS_SCHEMA_VERSION
from loadtest.store.files import read_summary
from loadtest.store.table import read_columns
from tests.support.synthetic import run_end, write_files


def test_the_summary_is_the_files_and_the_columns_come_back_for_the_report(
    tmp_path: Path,
) -> None:
    write_files(tmp_path, 2_000, timed=True)
    summary, columns = write_summary(tmp_path, run_end())
    assert read_summary(tmp_path) == summary  # what was written is what came back
    assert summary.records_schema_version == RECORDS_SCHEMA_VERSION
    assert summary.server_time_ms is not None and summary.load is not None  # timing, read apart
    assert summary.requests == len(columns) == 2_000 and summary.oom_events
    # the report draws from these: every column but the timing ones, as a reader reads them
    again = read_columns(tmp_path, timing=False)
    for f in fields(columns):
        got, want = getattr(columns, f.name), getattr(again, f.name)
        if f.name in OPTIONAL:
            assert got is None and want is None
        elif isinstance(got, Coded):
            assert got.values == want.values and np.array_equal(got.codes, want.codes)
        else:
            np.testing.assert_array_equal(got, want)
