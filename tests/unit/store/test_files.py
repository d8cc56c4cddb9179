"""Run directory I/O: records round-trip, torn last lines, unique run names, typed summaries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from loadtest.core.columns import RecordColumns
from loadtest.core.errors import NotARun, NotWritable
from loadtest.core.record import FIELD_NAMES, RecordRow
from loadtest.core.results import RunSummary
from loadtest.core.stats import summarize
from loadtest.core.telemetry import Telemetry
from loadtest.core.types import ErrorKind
from loadtest.store.files import (
    RECORDS,
    SUMMARY,
    VECTORS,
    JsonlWriter,
    RecordWriter,
    new_run_dir,
    read_summary,
    read_vectors,
    vector_row,
    writable_dir,
    write_json,
)
from loadtest.store.table import read_columns
from tests.support.records import META


def test_records_round_trip_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    records = [
        RecordRow(1.5, 0.0123456, 200, None, None, 1, 10, 12, "zh", "short", 0, "local"),
        RecordRow(
            2.5,
            0.5,
            500,
            ErrorKind.OOM,
            "HTTP 500: CUDA out of memory",
            2,
            30,
            None,
            "en",
            "medium",
            3,
            "worker-1",
        ),
    ]
    writer = RecordWriter(tmp_path)
    writer.write_rows([tuple(getattr(r, f) for f in FIELD_NAMES) for r in records])
    writer.write_rows([])
    writer.close()
    assert writer.count == 2
    with (tmp_path / "records.jsonl").open("ab") as f:
        f.write(b'{"start_time": 3.0, "laten')  # a crash mid-write
    cols = read_columns(tmp_path)
    assert [cols.record(i) for i in range(len(cols))] == records


def test_run_dirs_never_collide(tmp_path: Path) -> None:
    now = datetime(2026, 11, 22, 14, 5, 9)
    first = new_run_dir(tmp_path, "peak", now)
    second = new_run_dir(tmp_path, "peak", now)
    assert first.name == "20261122-140509-peak" and second.name == "20261122-140509-peak-2"


def test_summary_round_trip(tmp_path: Path) -> None:
    record = RecordRow(100.0, 0.00125, 200, None, None, 1, 10, 12, "zh", "short", 0, "local")
    summary = summarize(
        RecordColumns.from_records([record]),
        Telemetry(0.95),
        meta=META,
        duration_s=1.0,
        load_start=100.0,
    )
    write_json(tmp_path / SUMMARY, summary)
    again = read_summary(tmp_path)
    assert isinstance(again, RunSummary) and again == summary
    assert again.latency_ms.p50 == pytest.approx(1.25)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_directory_that_is_no_run_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NotARun, match=r"has no summary\.json"):
        read_summary(tmp_path)
    (tmp_path / SUMMARY).write_text('{"scenario": "single"}')  # a summary of no version of ours
    with pytest.raises(NotARun, match="not an embload RunSummary of this version"):
        read_summary(tmp_path)


def test_vectors_round_trip_as_float32(tmp_path: Path) -> None:
    vector = np.array([0.1, -0.2, 0.3])
    writer = JsonlWriter(tmp_path / VECTORS)
    writer.write([vector_row("一段文字", vector)])
    writer.close()
    ((text, back),) = read_vectors(tmp_path)
    assert text == "一段文字" and np.allclose(back, vector, atol=1e-7)


def test_a_record_of_the_wrong_length_is_refused_not_written_short(tmp_path: Path) -> None:
    """The load path builds rows without counting their fields; the writer counts them."""
    writer = RecordWriter(tmp_path)
    row = RecordRow(1.0, 0.01, 200, None, None, 1, 5, 3, "zh", "short", 0, "local")
    with pytest.raises(TypeError, match="a record of 12 fields, not 19"):
        writer.write_rows([tuple.__new__(RecordRow, row[:12])])
    writer.write_rows([tuple.__new__(RecordRow, row)])
    writer.close()
    assert (tmp_path / RECORDS).read_bytes().count(b"\n") == 1


def test_an_out_is_checked_by_writing_there_and_the_check_leaves_nothing(tmp_path: Path) -> None:
    fresh = tmp_path / "a" / "b"
    assert writable_dir(fresh, keep=False) == fresh and not (tmp_path / "a").exists()
    assert writable_dir(fresh) == fresh and fresh.is_dir() and not list(fresh.iterdir())
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotWritable, match=r"cannot write to .*/file/run: Not a directory"):
        writable_dir(tmp_path / "file" / "run")
