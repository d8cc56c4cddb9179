"""Run directory I/O: records round-trip, torn last lines, unique run names."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from loadtest.core.types import RECORD_FIELDS, ErrorKind, RequestRecord
from loadtest.store import (
    RecordWriter,
    new_run_dir,
    read_corpus,
    read_records,
    read_summary,
    write_summary,
)


def test_records_round_trip_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    records = [
        RequestRecord(1.5, 0.0123456, 200, None, None, 1, 10, 12, "zh", "short", 0, "local"),
        RequestRecord(
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
    writer.write([tuple(getattr(r, f) for f in RECORD_FIELDS) for r in records])
    writer.write([])
    writer.close()
    assert writer.count == 2
    with (tmp_path / "records.jsonl").open("ab") as f:
        f.write(b'{"start_time": 3.0, "laten')  # a crash mid-write
    assert read_records(tmp_path) == records


def test_run_dirs_never_collide(tmp_path: Path) -> None:
    now = datetime(2026, 11, 22, 14, 5, 9)
    first = new_run_dir(tmp_path, "peak", now)
    second = new_run_dir(tmp_path, "peak", now)
    assert first.name == "20261122-140509-peak" and second.name == "20261122-140509-peak-2"


def test_summary_round_trip(tmp_path: Path) -> None:
    write_summary(tmp_path, {"scenario": "single", "latency_ms": {"p50": 1.25}})
    assert read_summary(tmp_path)["latency_ms"]["p50"] == 1.25
    assert not list(tmp_path.glob("*.tmp"))


def test_corpus_files(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("one\ntwo\n", encoding="utf-8")
    assert [p.text for p in read_corpus(tmp_path / "c.txt")] == ["one", "two"]
    (tmp_path / "bad.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl: line 1"):
        read_corpus(tmp_path / "bad.jsonl")
    with pytest.raises(ValueError, match="cannot read"):
        read_corpus(tmp_path / "missing.txt")
