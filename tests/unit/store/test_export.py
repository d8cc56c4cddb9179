from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loadtest.core.errors import NotARun
from loadtest.store.export import COLUMNS, export
from loadtest.store.table import read_columns
from tests.support.synthetic import write_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("export") / "run"
    write_run(run_dir, 2_000)
    with (run_dir / "records.jsonl").open("ab") as f:
        f.write(b'{"start_time": 1.0, "latency')  # torn: a crash mid-write
    return run_dir


def test_csv_parquet_and_jsonl_hold_every_complete_record(run: Path, tmp_path: Path) -> None:
    cols = read_columns(run)
    records = [cols.record(i) for i in range(len(cols))]
    assert len(records) == 2_000
    path, count = export(run, "csv", tmp_path / "r.csv")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert count == len(rows) == 2_000 and tuple(rows[0]) == COLUMNS
    assert [float(r["latency_s"]) for r in rows] == [r.latency_s for r in records]
    path, count = export(run, "parquet", tmp_path / "r.parquet")
    table = pq.read_table(path)
    assert count == table.num_rows == 2_000 and tuple(table.column_names) == COLUMNS
    assert table.column("latency_s").to_pylist() == [r.latency_s for r in records]
    assert table.column("category").to_pylist() == [r.category for r in records]
    errors = [None if r.error is None else r.error.value for r in records]
    assert table.column("error").to_pylist() == errors
    path, count = export(run, "jsonl", tmp_path / "r.jsonl")
    lines = path.read_text().splitlines()
    assert (
        count == len(lines) == 2_000 and json.loads(lines[-1])["latency_s"] == records[-1].latency_s
    )


def test_a_folder_that_is_no_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with pytest.raises(NotARun):
        export(tmp_path, "csv")
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.cli", "export", str(tmp_path), "--format", "xlsx"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --format: unknown value 'xlsx'; pick csv, parquet, jsonl"


def test_the_command_writes_beside_the_records(run: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.cli", "export", str(run), "--format", "parquet"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    # the run's own columnar copy of its records, copied under a name of its own
    assert proc.stdout.strip() == str(run / "records.export.parquet")
    assert proc.stderr.strip() == "2,000 records"
    assert (run / "records.export.parquet").read_bytes() == (run / "records.parquet").read_bytes()


def test_jsonl_by_default_is_a_copy_beside_the_records_not_them(run: Path) -> None:
    before = (run / "records.jsonl").read_bytes()
    path, count = export(run, "jsonl")
    assert path == run / "records.export.jsonl" and count == 2_000
    assert path.read_bytes() == before[: before.rindex(b"\n") + 1]  # the torn line left out
    assert (run / "records.jsonl").read_bytes() == before
