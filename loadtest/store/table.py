"""records.parquet: the records' columnar copy, which the summary, report, compare and export read.

records.jsonl stays what a run writes as it goes: a line per request, flushed every 50 ms, so a
crash loses a tenth of a second at most. At the run's end, or when a report, compare or export
first needs it, pyarrow's JSON reader turns its complete lines into records.parquet a block at
a time. The copy knows how many bytes of records.jsonl it holds and is made again when that
changes (a run that went on, or a crash's report made before). Reads fill RecordColumns a batch
of rows at a time, so memory is the columns' own (about 45 bytes a request), not the file's.

Why Parquet over Arrow IPC (bench/scale.py --formats; the figures are in bench/RESULTS.md):
IPC converts and reads somewhat faster, but its file is several times Parquet's, and pandas,
polars and DuckDB read Parquet as it is, so `embload export --format parquet` is a copy.

The columns are RecordRow's fields (core/record.py), the same flat names as records.jsonl's
keys; the file's metadata says which records schema it holds. records.jsonl of schema 1 (the
server's clock as one array, `server_s`) is read too, its clock split into the four columns.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from loadtest.core.columns import (
    ERROR_KINDS,
    NO_CODE,
    OPTIONAL,
    TIMED,
    Coded,
    RecordColumns,
    Timing,
    code_dtype,
)
from loadtest.core.errors import NotARun
from loadtest.core.record import FIELD_NAMES, FIELDS, RECORDS_SCHEMA_VERSION, SERVER_CLOCK
from loadtest.core.types import ErrorKind
from loadtest.store.files import RECORDS

TABLE = "records.parquet"
COLUMNS: tuple[str, ...] = FIELD_NAMES  # records.jsonl's keys, records.parquet's columns
_SOURCE_BYTES = b"embload.records_jsonl_bytes"
_VERSION = b"embload.records_schema_version"
_LEGACY_CLOCK = "server_s"  # records schema 1: the server's clock as one 4-array
_ROW_GROUP = 1 << 17
# the JSON reader's block: a smaller one peaks lower at about the same speed (bench/RESULTS.md)
_BLOCK = 2 << 20


def _schema(pa: Any, *, legacy: bool = False) -> Any:
    """records.parquet's columns, from the record's declaration; `legacy`: how records.jsonl
    of schema 1 reads (the clock as one list)."""
    types = {
        "float64": pa.float64(),
        "int16": pa.int16(),
        "int32": pa.int32(),
        "bool": pa.bool_(),
    }
    fields = [pa.field(f.name, types.get(f.col.file, pa.string())) for f in FIELDS]
    if legacy:
        fields = [f for f in fields if f.name not in SERVER_CLOCK]
        fields.append(pa.field(_LEGACY_CLOCK, pa.list_(pa.float64())))
    return pa.schema(fields)


def _is_legacy(source: Path) -> bool:
    """Whether records.jsonl is of schema 1 (its first line has `server_s`)."""
    with source.open("rb") as f:
        return f'"{_LEGACY_CLOCK}"'.encode() in f.readline()


def _complete_bytes(path: Path) -> int:
    """The length of the file's complete lines: a torn last one (a crash mid-write) is left."""
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        at = size
        while at > 0:
            step = min(at, 1 << 16)
            f.seek(at - step)
            cut = f.read(step).rfind(b"\n")
            if cut >= 0:
                return at - step + cut + 1
            at -= step
    return 0


class _Capped:
    """A binary file read up to `left` bytes: pyarrow sees only the complete lines."""

    def __init__(self, f: IO[bytes], left: int) -> None:
        self.f, self.left, self.closed = f, left, False

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def convert(source: Path, target: IO[bytes] | Path, complete: int) -> int:
    """records.jsonl's first `complete` bytes as Parquet in `target`; how many records."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    legacy = complete > 0 and _is_legacy(source)
    meta = {_SOURCE_BYTES: str(complete).encode(), _VERSION: str(RECORDS_SCHEMA_VERSION).encode()}
    out = _schema(pa).with_metadata(meta)
    count = 0
    with source.open("rb") as f, pq.ParquetWriter(target, out) as writer:
        reader = pj.open_json(
            pa.PythonFile(_Capped(f, complete), mode="r"),
            read_options=pj.ReadOptions(block_size=_BLOCK),
            parse_options=pj.ParseOptions(
                explicit_schema=_schema(pa, legacy=legacy), unexpected_field_behavior="ignore"
            ),
        )
        held: list[Any] = []  # a row group of ~128k rows, not one per 2 MiB block (~8k)
        for batch in reader:
            if legacy:
                clock = batch.column(_LEGACY_CLOCK)
                parts = dict(zip(SERVER_CLOCK, range(len(SERVER_CLOCK)), strict=True))
                columns = [
                    pc.list_element(clock, parts[n]) if n in parts else batch.column(n)
                    for n in COLUMNS
                ]
            else:
                columns = [batch.column(n) for n in COLUMNS]
            held.append(pa.record_batch(columns, schema=out))
            count += batch.num_rows
            if sum(b.num_rows for b in held) >= _ROW_GROUP:
                writer.write_table(pa.Table.from_batches(held))
                held = []
        if held or not count:
            writer.write_table(pa.Table.from_batches(held, schema=out))
    # the allocator keeps what the conversion freed unless asked to give it back (bench/scale.py)
    pa.default_memory_pool().release_unused()
    return count


def ensure(run_dir: Path) -> Path | IO[bytes]:
    """The run's records.parquet, made (again) when records.jsonl holds other bytes than it
    was made from. A run directory that cannot be written gets the copy in an unnamed
    temporary file, returned open."""
    import pyarrow.parquet as pq

    source, table = run_dir / RECORDS, run_dir / TABLE
    if not source.is_file():
        if table.is_file():  # records.jsonl removed to save space: the copy is the records
            return table
        raise NotARun(f"{run_dir} is not a run directory (no {RECORDS})")
    complete = _complete_bytes(source)
    if table.is_file():
        try:
            schema = pq.read_schema(table)
            made_from = schema.metadata or {}
            # a copy an older embload made lacks the fields added since: made again
            if made_from.get(_SOURCE_BYTES) == str(complete).encode() and set(COLUMNS) <= set(
                schema.names
            ):
                return table
        except Exception:  # a torn or foreign file is made again
            pass
    part = table.with_name(f".{TABLE}.{os.getpid()}.part")  # two readers at once: two parts
    try:
        convert(source, part, complete)
        os.replace(part, table)
        return table
    except OSError:  # a read-only or full run directory
        with contextlib.suppress(OSError):
            part.unlink()
    spill = tempfile.TemporaryFile()  # noqa: SIM115 - the caller reads it
    convert(source, spill, complete)
    return spill


_CODED = tuple(f.name for f in FIELDS if f.col.column in ("code", "error"))


def open_table(run_dir: Path) -> Any:
    """The run's records.parquet as a pyarrow ParquetFile (`ensure`); its string columns read
    as dictionaries (codes into their distinct values)."""
    import pyarrow.parquet as pq

    # pre_buffer (on by default) would keep every column chunk read so far: the file, again
    return pq.ParquetFile(ensure(run_dir), read_dictionary=_CODED, pre_buffer=False)


# the number columns every reader takes (the optional ones are read apart, when asked)
_NUMBERS: dict[str, str] = {
    f.name: f.col.column for f in FIELDS if f.name not in _CODED and f.name not in OPTIONAL
}
_BATCH = 1 << 16


class _Coder:
    """A string column's codes, filled a batch at a time; the codes widen as values come."""

    def __init__(self, n: int) -> None:
        self.index: dict[str, int] = {}
        self.codes = np.empty(n, dtype=np.int8)

    def fill(self, at: int, column: Any) -> None:
        known = [self.index.setdefault(v, len(self.index)) for v in column.dictionary.to_pylist()]
        if (dtype := code_dtype(len(self.index))) != self.codes.dtype:
            self.codes = self.codes.astype(dtype)
        to_code = np.array([*known, NO_CODE], dtype=np.int64)  # NO_CODE (-1) picks the last
        self.codes[at : at + len(column)] = to_code[column.indices.fill_null(NO_CODE).to_numpy()]

    def coded(self) -> Coded:
        return Coded(self.codes, tuple(self.index))


def _all_null(meta: Any, name: str) -> bool:
    """Whether the file's statistics say a column holds nothing (no need to read it)."""
    j = meta.schema.names.index(name)
    nulls = 0
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(j).statistics
        if stats is None or not stats.has_null_count:
            return False
        nulls += stats.null_count
    return bool(nulls == meta.num_rows)


def _fill(parquet: Any, numbers: dict[str, np.ndarray], coders: dict[str, _Coder]) -> None:
    """The arrays from the file, a batch of 65,536 rows at a time: memory is the arrays' own
    and one batch's, never the file's."""
    at = 0
    for batch in parquet.iter_batches(batch_size=_BATCH, columns=[*numbers, *coders]):
        for name, out in numbers.items():
            column = batch.column(name)
            if out.dtype == np.bool_:  # a flag older records lack reads as its default, false
                column = column.fill_null(False)
            out[at : at + batch.num_rows] = column.to_numpy(zero_copy_only=False)
        for name, coder in coders.items():
            coder.fill(at, batch.column(name))
        at += batch.num_rows
    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # what the decoded batches held


def _optional(
    meta: Any, numbers: dict[str, np.ndarray], wanted: tuple[str, ...]
) -> dict[str, np.ndarray | None]:
    """The `wanted` optional columns' arrays (send lag, the server's clock, trace lines), None
    where no record has them (no array of NaN then), added to `numbers` to be filled."""
    n = int(meta.num_rows)
    names = set(meta.schema.names)
    out: dict[str, np.ndarray | None] = {}
    for name in wanted:
        out[name] = None if name not in names or _all_null(meta, name) else np.empty(n)
    numbers |= {name: array for name, array in out.items() if array is not None}
    return out


def read_timing(run_dir: Path) -> Timing:
    """The measured records' timing columns: latency, success, send lag and the server's clock
    (warm-up left out, as `read_columns` leaves it)."""
    parquet = open_table(run_dir)
    n = int(parquet.metadata.num_rows)
    numbers = {"latency_s": np.empty(n, dtype=np.float64), "warmup": np.empty(n, dtype=bool)}
    optional = _optional(parquet.metadata, numbers, TIMED)
    error = _Coder(n)
    _fill(parquet, numbers, {"error": error})
    measured = ~numbers["warmup"]
    if measured.all():
        return Timing(numbers["latency_s"], error.codes == NO_CODE, **optional)
    kept = {k: None if v is None else v[measured] for k, v in optional.items()}
    return Timing(numbers["latency_s"][measured], (error.codes == NO_CODE)[measured], **kept)


def read_columns(run_dir: Path, *, timing: bool = True, warmup: bool = False) -> RecordColumns:
    """Every measured record of the run as columns; `warmup=True` keeps the warm-up's too
    (every figure leaves them out: this is where). `timing=False` leaves the send lag and the
    server's clock unread (None), for readers that do not use them: at ten million records of
    an open loop against TEI they are 400 MB (read them alone with `read_timing`)."""
    parquet = open_table(run_dir)
    n = int(parquet.metadata.num_rows)
    numbers: dict[str, Any] = {name: np.empty(n, dtype=dtype) for name, dtype in _NUMBERS.items()}
    optional: dict[str, Any] = dict.fromkeys(OPTIONAL)
    optional |= _optional(parquet.metadata, numbers, OPTIONAL if timing else ("trace_line",))
    coders = {name: _Coder(n) for name in _CODED}
    _fill(parquet, numbers, coders)
    error = coders.pop("error").coded()
    kinds = [ERROR_KINDS.index(ErrorKind(v)) for v in error.values]
    to_kind = np.array([*kinds, NO_CODE], dtype=np.int8)  # NO_CODE (-1) picks the last
    columns: dict[str, Any] = {name: coder.coded() for name, coder in coders.items()}
    always = {name: numbers[name] for name in _NUMBERS}  # `numbers` holds the optional too
    found = RecordColumns(**always, **columns, **optional, error=to_kind[error.codes])
    if warmup or not found.warmup.any():
        return found
    return found.take(~found.warmup)


def warmup_span(run_dir: Path) -> tuple[int, float | None]:
    """How many records the warm-up sent, and when its last one was sent (Unix s)."""
    parquet = open_table(run_dir)
    n = int(parquet.metadata.num_rows)
    numbers = {"start_time": np.empty(n), "warmup": np.empty(n, dtype=bool)}
    _fill(parquet, numbers, {})
    flagged = numbers["start_time"][numbers["warmup"]]
    return int(flagged.size), float(flagged.max()) if flagged.size else None
