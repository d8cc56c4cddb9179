"""A run's records as columns: one numpy array per field of RecordRow, one entry per request.

What the summary, the report and the compare compute on. An hour of load is some ten million
requests; as objects that is gigabytes, as these arrays about 50 bytes a request (strings are
small integer codes into their distinct values). The store fills them from records.parquet
(store/table.py); `from_records` builds them from rows in memory. Each column's dtype is the
field's `Col.column` in core/record.py; the attributes below carry the same names, in the same
order, so mypy sees each one (`_check_names` holds them to the declaration at import).

The send lag and the server's clock are optional columns: None when no record has them (a
closed loop, a server without TEI's headers), so a run without them holds no arrays of NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from loadtest.core.record import FIELD_NAMES, FIELDS, SERVER_CLOCK, Field, RecordRow
from loadtest.core.types import ErrorKind

# An error column's codes index this; -1 is a success.
ERROR_KINDS: tuple[ErrorKind, ...] = tuple(ErrorKind)
NO_CODE = -1
# the timing columns Timing holds, read apart from the rest (store/table.py)
TIMED: tuple[str, ...] = ("send_lag_s", *SERVER_CLOCK)
# columns that are None when no record has a value (send lag, the server's clock, trace lines)
OPTIONAL: tuple[str, ...] = (*TIMED, "trace_line")


def code_dtype(distinct: int) -> type[np.signedinteger]:
    """The smallest signed integer that holds codes 0..distinct-1 and -1."""
    for dtype in (np.int8, np.int16, np.int32):
        if distinct < np.iinfo(dtype).max:
            return dtype
    return np.int64


@dataclass(frozen=True)
class Coded:
    """A string column as integer codes into `values`; NO_CODE where the record has none."""

    codes: np.ndarray
    values: tuple[str, ...]

    @classmethod
    def of(cls, strings: Sequence[str | None]) -> Coded:
        index: dict[str, int] = {}
        codes = [NO_CODE if s is None else index.setdefault(s, len(index)) for s in strings]
        return cls(np.array(codes, dtype=code_dtype(len(index))), tuple(index))

    def at(self, i: int) -> str | None:
        code = int(self.codes[i])
        return None if code == NO_CODE else self.values[code]

    def used(self) -> list[str]:
        """The values some record has, sorted."""
        present = np.unique(self.codes[self.codes != NO_CODE])
        return sorted(self.values[int(c)] for c in present)

    def take(self, index: np.ndarray) -> Coded:
        return Coded(self.codes[index], self.values)


def concat_coded(parts: Sequence[Coded]) -> Coded:
    """One column from several, their codes moved onto one list of values."""
    index: dict[str, int] = {}
    for part in parts:
        for v in part.values:
            index.setdefault(v, len(index))
    dtype = code_dtype(len(index))
    moved = []
    for part in parts:
        # a lookup table with -1 last, so NO_CODE (-1) maps to itself
        table = np.array([index[v] for v in part.values] + [NO_CODE], dtype=dtype)
        moved.append(table[part.codes.astype(np.int64)])
    return Coded(np.concatenate(moved) if moved else np.array([], dtype=dtype), tuple(index))


@dataclass(frozen=True)
class Timing:
    """The send lag's and the server clock's columns, with what they are read against: the
    widest of a run (5 floats a request), so the store reads them on their own, not beside every
    other column (store/table.py)."""

    latency_s: np.ndarray
    ok: np.ndarray  # bool
    send_lag_s: np.ndarray | None  # NaN where none; None when no record has one
    server_queue_s: np.ndarray | None  # the server's clock: NaN where none, None when no record
    server_tokenization_s: np.ndarray | None
    server_inference_s: np.ndarray | None
    server_total_s: np.ndarray | None

    def __len__(self) -> int:
        return int(self.latency_s.size)


@dataclass(frozen=True)
class RecordColumns:
    """Every field of the records, a column each; RecordRow's names and order."""

    start_time: np.ndarray  # float64, Unix s
    latency_s: np.ndarray  # float64
    status: np.ndarray  # int16; 0 where no reply arrived
    error: np.ndarray  # int8 code into ERROR_KINDS; NO_CODE for a success
    error_message: Coded
    inputs: np.ndarray  # int32
    chars: np.ndarray  # int32
    prompt_tokens: np.ndarray  # float32, NaN where none reported
    category: Coded
    bucket: Coded
    user: np.ndarray  # int32
    worker: Coded
    send_lag_s: np.ndarray | None
    server_queue_s: np.ndarray | None
    server_tokenization_s: np.ndarray | None
    server_inference_s: np.ndarray | None
    server_total_s: np.ndarray | None
    warmup: np.ndarray  # bool: sent during --warmup (the store leaves these out unless asked)
    trace_line: np.ndarray | None  # float64, NaN where none; None outside a trace replay

    def __len__(self) -> int:
        return int(self.start_time.size)

    @property
    def ok(self) -> np.ndarray:
        return self.error == NO_CODE  # type: ignore[no-any-return]

    def timing(self) -> Timing:
        optional = {name: getattr(self, name) for name in TIMED}
        return Timing(self.latency_s, self.ok, **optional)

    def kind_codes(self, kind: ErrorKind) -> np.ndarray:
        """Where a record failed with `kind`."""
        return self.error == ERROR_KINDS.index(kind)  # type: ignore[no-any-return]

    def take(self, index: np.ndarray) -> RecordColumns:
        """The records at `index` (a mask or positions), every column alike."""
        out: dict[str, Any] = {}
        for f in FIELDS:
            column = getattr(self, f.name)
            out[f.name] = (
                None
                if column is None
                else column.take(index)
                if isinstance(column, Coded)
                else column[index]
            )
        return RecordColumns(**out)

    def record(self, i: int) -> RecordRow:
        """Record `i` as the load path wrote it (a check that no field is lost on the way)."""
        return RecordRow._make(_value(f, getattr(self, f.name), i) for f in FIELDS)

    @classmethod
    def from_records(cls, records: Sequence[RecordRow]) -> RecordColumns:
        return cls(**{f.name: _column(f, [getattr(r, f.name) for r in records]) for f in FIELDS})


def _value(f: Field, column: Any, i: int) -> object:
    if column is None:
        return None
    if f.col.column == "code":
        return column.at(i)
    if f.col.column == "error":
        code = int(column[i])
        return None if code == NO_CODE else ERROR_KINDS[code]
    value = column[i].item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return int(value) if f.type is int else value


def _column(f: Field, values: list[Any]) -> Any:
    if f.col.column == "code":
        return Coded.of(values)
    if f.col.column == "error":
        kinds = {kind: i for i, kind in enumerate(ERROR_KINDS)}
        return np.array([NO_CODE if v is None else kinds[v] for v in values], dtype=np.int8)
    if f.name in OPTIONAL and all(v is None for v in values):
        return None
    if f.nullable:
        return np.array([np.nan if v is None else v for v in values], dtype=f.col.column)
    return np.array(values, dtype=f.col.column)


def concat(parts: Sequence[RecordColumns]) -> RecordColumns:
    """Several runs' columns as one (a compare side pools its runs)."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    for f in FIELDS:
        columns = [getattr(p, f.name) for p in parts]
        if f.col.column == "code":
            merged[f.name] = concat_coded(columns)
        elif f.name in OPTIONAL:
            merged[f.name] = _optional(parts, columns)
        else:
            merged[f.name] = np.concatenate(columns)
    return RecordColumns(**merged)


def _optional(parts: Sequence[RecordColumns], arrays: list[np.ndarray | None]) -> np.ndarray | None:
    if all(a is None for a in arrays):
        return None
    return np.concatenate(
        [np.full(len(p), np.nan) if a is None else a for p, a in zip(parts, arrays, strict=True)]
    )


def _check_names() -> None:
    names = tuple(f.name for f in fields(RecordColumns))
    if names != FIELD_NAMES:  # a field added to RecordRow needs its column here
        raise TypeError(f"RecordColumns {names} differ from RecordRow {FIELD_NAMES}")


_check_names()
