"""records.parquet: every field survives records.jsonl -> Parquet -> columns, and the copy
follows the records it was made from."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq

from loadtest.core.columns import OPTIONAL, RecordColumns
from loadtest.core.record import FIELD_NAMES, SERVER_CLOCK, RecordRow
from loadtest.core.types import ErrorKind
from loadtest.store.files import RECORDS, RecordWriter
from loadtest.store.table import TABLE, read_columns, read_timing


def write(run_dir: Path, records: list[RecordRow]) -> None:
    writer = RecordWriter(run_dir)
    writer.write_rows(records)
    writer.close()


def back(cols: RecordColumns) -> list[RecordRow]:
    return [cols.record(i) for i in range(len(cols))]


def record(i: int, **fields: object) -> RecordRow:
    base = RecordRow(
        1_800_000_000.0 + i / 1000, 0.01 + i / 1e6, 200, None, None, 1, 10 + i, 3 + i,
        "zh", "short", i % 7, "local",
    )  # fmt: skip
    return RecordRow(**{**{f: getattr(base, f) for f in FIELD_NAMES}, **fields})


def test_every_field_round_trips_and_a_torn_line_is_left(tmp_path: Path) -> None:
    records = [
        record(0),
        record(1, error=ErrorKind.OOM, status=503, error_message="CUDA out of memory",
               prompt_tokens=None, worker="worker-2", category="code", bucket="long"),
        record(2, send_lag_s=0.0004, server_queue_s=0.001, server_tokenization_s=0.0005,
               server_inference_s=0.004, server_total_s=0.006, inputs=16),
        record(3, error=ErrorKind.CONNECTION, status=0, error_message="refused", inputs=2),
    ]  # fmt: skip
    write(tmp_path, records)
    with (tmp_path / RECORDS).open("ab") as f:
        f.write(b'{"start_time": 3.0, "laten')  # a crash mid-write
    cols = read_columns(tmp_path)
    assert back(cols) == records
    clock = [getattr(cols, name) for name in SERVER_CLOCK]
    assert all(c is not None and np.isnan(c[0]) for c in clock)
    assert cols.ok.tolist() == [True, False, True, False]
    assert pq.ParquetFile(tmp_path / TABLE).metadata.num_rows == 4
    # the timing columns read alone are the same; left out, they are not read at all
    timing, whole = read_timing(tmp_path), cols.timing()
    for name in ("latency_s", "ok", "send_lag_s", *SERVER_CLOCK):
        np.testing.assert_array_equal(getattr(timing, name), getattr(whole, name))
    lean = read_columns(tmp_path, timing=False)
    assert all(getattr(lean, name) is None for name in OPTIONAL)
    assert [lean.record(i) for i in range(4)] == [
        r._replace(**dict.fromkeys(OPTIONAL)) for r in records
    ]


def test_a_run_without_lag_or_server_clock_holds_no_such_columns(tmp_path: Path) -> None:
    write(tmp_path, [record(i) for i in range(5)])
    cols = read_columns(tmp_path)
    assert all(getattr(cols, name) is None for name in OPTIONAL)  # no 80 MB of NaN per 10M


def test_records_of_an_older_embload_without_the_newer_fields(tmp_path: Path) -> None:
    row = {f: getattr(record(0), f) for f in FIELD_NAMES if f not in OPTIONAL}
    (tmp_path / RECORDS).write_bytes(orjson.dumps(row) + b"\n")
    assert back(read_columns(tmp_path)) == [record(0)]


def test_the_copy_is_made_again_when_the_records_change_and_only_then(tmp_path: Path) -> None:
    write(tmp_path, [record(i) for i in range(3)])
    assert len(read_columns(tmp_path)) == 3
    made = (tmp_path / TABLE).stat().st_mtime_ns
    os.utime(tmp_path / TABLE, ns=(made - 10**9, made - 10**9))
    assert len(read_columns(tmp_path)) == 3
    assert (tmp_path / TABLE).stat().st_mtime_ns == made - 10**9  # the same bytes: kept
    with (tmp_path / RECORDS).open("ab") as f:  # the run went on (or a crash's report was made)
        f.write(orjson.dumps({f: getattr(record(3), f) for f in FIELD_NAMES}) + b"\n")
    assert back(read_columns(tmp_path)) == [record(i) for i in range(4)]
    (tmp_path / TABLE).write_bytes(b"not parquet")  # torn or foreign: made again
    assert len(read_columns(tmp_path)) == 4


def test_without_records_jsonl_the_copy_is_the_records(tmp_path: Path) -> None:
    write(tmp_path, [record(i) for i in range(3)])
    read_columns(tmp_path)
    (tmp_path / RECORDS).unlink()
    assert back(read_columns(tmp_path)) == [record(i) for i in range(3)]


def test_a_directory_that_cannot_take_the_copy_still_reads(tmp_path: Path) -> None:
    write(tmp_path, [record(i) for i in range(3)])
    (tmp_path / f".{TABLE}.{os.getpid()}.part").mkdir()  # the copy cannot be written there
    assert back(read_columns(tmp_path)) == [record(i) for i in range(3)]
    assert not (tmp_path / TABLE).exists()


def test_codes_hold_across_batches_and_widen_past_127_values(tmp_path: Path) -> None:
    # 70,000 records: two batches of the reader, whose dictionaries differ; 300 messages
    n = 70_000
    records = [
        record(i, category="zh" if i < 66_000 else "en", error=ErrorKind.HTTP_5XX, status=500,
               error_message=f"HTTP 500: shard {i // 2 % 300}")
        if i % 2 else record(i, category="zh" if i < 66_000 else "en")
        for i in range(n)
    ]  # fmt: skip
    write(tmp_path, records)
    cols = read_columns(tmp_path)
    assert cols.error_message.codes.dtype == np.int16 and len(cols.error_message.values) == 300
    assert cols.category.used() == ["en", "zh"]
    picks = [0, 1, 65_535, 65_536, 65_999, 66_000, 66_001, n - 1]
    assert [cols.record(i) for i in picks] == [records[i] for i in picks]
    assert int(np.count_nonzero(cols.category.codes == cols.category.values.index("en"))) == 4_000


def test_records_of_schema_1_have_their_clock_array_split_into_the_four_fields(
    tmp_path: Path,
) -> None:
    """records.jsonl before the one record schema wrote the server's clock as `server_s`."""
    timed = {f: getattr(record(0), f) for f in FIELD_NAMES if f not in SERVER_CLOCK}
    plain = {f: getattr(record(1), f) for f in FIELD_NAMES if f not in SERVER_CLOCK}
    lines = [{**timed, "server_s": [0.001, 0.0005, 0.004, 0.006]}, {**plain, "server_s": None}]
    (tmp_path / RECORDS).write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    clock = dict(zip(SERVER_CLOCK, (0.001, 0.0005, 0.004, 0.006), strict=True))
    assert back(read_columns(tmp_path)) == [record(0, **clock), record(1)]
    assert pq.read_schema(tmp_path / TABLE).names == list(FIELD_NAMES)


def test_one_set_of_names_in_every_record_file(tmp_path: Path) -> None:
    """records.jsonl's keys = records.parquet's columns = the declaration's names, in order."""
    write(tmp_path, [record(0), record(2, send_lag_s=0.1)])
    keys = list(orjson.loads((tmp_path / RECORDS).read_bytes().splitlines()[0]))
    read_columns(tmp_path)
    assert keys == list(FIELD_NAMES) == pq.read_schema(tmp_path / TABLE).names
