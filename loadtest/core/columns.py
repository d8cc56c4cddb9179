"""A run's records as columns: one numpy array per field, one entry per request.

What the summary, the report and the compare compute on. An hour of load is some ten million
requests; as RequestRecord objects that is gigabytes, as these arrays about 50 bytes a request
(strings are small integer codes into their distinct values). The store fills them from
records.parquet (loadtest/table.py); `from_records` builds them from records in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from loadtest.core.types import ErrorKind, RequestRecord

# An error column's codes index this; -1 is a success.
ERROR_KINDS: tuple[ErrorKind, ...] = tuple(ErrorKind)
NO_CODE = -1


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
    """The columns of an open loop's send lag and the server's own clock, with what they are
    read against: the widest of a run (5 floats a request), so the store reads them on their
    own, not beside every other column (loadtest/table.py)."""

    latency_s: np.ndarray
    ok: np.ndarray  # bool
    send_lag_s: np.ndarray | None  # float, NaN where none; None when no record has one
    server_s: np.ndarray | None  # (n, 4): queue, tokenization, inference, total; NaN rows

    def __len__(self) -> int:
        return int(self.latency_s.size)


@dataclass(frozen=True)
class RecordColumns:
    """Every field of the records, a column each; the same order as records.jsonl."""

    start_time: np.ndarray  # Unix s
    latency_s: np.ndarray
    status: np.ndarray  # int16; 0 where no reply arrived
    error: np.ndarray  # int code into ERROR_KINDS; NO_CODE for a success
    error_message: Coded
    inputs: np.ndarray  # int: texts in the request
    chars: np.ndarray  # int
    tokens: np.ndarray  # float32 (whole numbers below 2**24 are exact), NaN where none reported
    category: Coded
    bucket: Coded
    user: np.ndarray  # int
    worker: Coded
    send_lag_s: np.ndarray | None  # float, NaN where none; None when no record has one
    server_s: np.ndarray | None  # (n, 4) float, NaN rows where none; None when no record has it

    def __len__(self) -> int:
        return int(self.start_time.size)

    @property
    def ok(self) -> np.ndarray:
        return self.error == NO_CODE  # type: ignore[no-any-return]

    def timing(self) -> Timing:
        return Timing(self.latency_s, self.ok, self.send_lag_s, self.server_s)

    def kind_codes(self, kind: ErrorKind) -> np.ndarray:
        """Where a record failed with `kind`."""
        return self.error == ERROR_KINDS.index(kind)  # type: ignore[no-any-return]

    def record(self, i: int) -> RequestRecord:
        """Record `i` as the load path wrote it (a check that no field is lost on the way)."""
        error, tokens = int(self.error[i]), float(self.tokens[i])
        lag = None if self.send_lag_s is None else float(self.send_lag_s[i])
        clock = None if self.server_s is None else tuple(float(x) for x in self.server_s[i])
        category, bucket, worker = self.category.at(i), self.bucket.at(i), self.worker.at(i)
        assert category is not None and bucket is not None and worker is not None
        return RequestRecord(
            start_time=float(self.start_time[i]),
            latency_s=float(self.latency_s[i]),
            status=int(self.status[i]),
            error=None if error == NO_CODE else ERROR_KINDS[error],
            error_message=self.error_message.at(i),
            inputs=int(self.inputs[i]),
            chars=int(self.chars[i]),
            prompt_tokens=None if math.isnan(tokens) else int(tokens),
            category=category,
            bucket=bucket,
            user=int(self.user[i]),
            worker=worker,
            send_lag_s=None if lag is None or math.isnan(lag) else lag,
            server_s=None if clock is None or math.isnan(clock[3]) else clock,  # type: ignore[arg-type]
        )

    @classmethod
    def from_records(cls, records: Sequence[RequestRecord]) -> RecordColumns:
        kinds = {kind: i for i, kind in enumerate(ERROR_KINDS)}
        clocks = [r.server_s for r in records]
        return cls(
            start_time=np.array([r.start_time for r in records], dtype=np.float64),
            latency_s=np.array([r.latency_s for r in records], dtype=np.float64),
            status=np.array([r.status for r in records], dtype=np.int16),
            error=np.array(
                [NO_CODE if r.error is None else kinds[r.error] for r in records], dtype=np.int8
            ),
            error_message=Coded.of([r.error_message for r in records]),
            inputs=np.array([r.inputs for r in records], dtype=np.int64),
            chars=np.array([r.chars for r in records], dtype=np.int64),
            tokens=_floats([r.prompt_tokens for r in records]).astype(np.float32),
            category=Coded.of([r.category for r in records]),
            bucket=Coded.of([r.bucket for r in records]),
            user=np.array([r.user for r in records], dtype=np.int64),
            worker=Coded.of([r.worker for r in records]),
            send_lag_s=(
                _floats([r.send_lag_s for r in records])
                if any(r.send_lag_s is not None for r in records)
                else None
            ),
            server_s=(
                np.array([c or (np.nan,) * 4 for c in clocks], dtype=np.float64).reshape(-1, 4)
                if any(c is not None for c in clocks)
                else None
            ),
        )


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def concat(parts: Sequence[RecordColumns]) -> RecordColumns:
    """Several runs' columns as one (a compare side pools its runs)."""
    if len(parts) == 1:
        return parts[0]
    return RecordColumns(
        start_time=np.concatenate([p.start_time for p in parts]),
        latency_s=np.concatenate([p.latency_s for p in parts]),
        status=np.concatenate([p.status for p in parts]),
        error=np.concatenate([p.error for p in parts]),
        error_message=concat_coded([p.error_message for p in parts]),
        inputs=np.concatenate([p.inputs for p in parts]),
        chars=np.concatenate([p.chars for p in parts]),
        tokens=np.concatenate([p.tokens for p in parts]),
        category=concat_coded([p.category for p in parts]),
        bucket=concat_coded([p.bucket for p in parts]),
        user=np.concatenate([p.user for p in parts]),
        worker=concat_coded([p.worker for p in parts]),
        send_lag_s=_optional(parts, [p.send_lag_s for p in parts], ()),
        server_s=_optional(parts, [p.server_s for p in parts], (4,)),
    )


def _optional(
    parts: Sequence[RecordColumns], arrays: list[np.ndarray | None], shape: tuple[int, ...]
) -> np.ndarray | None:
    if all(a is None for a in arrays):
        return None
    return np.concatenate(
        [
            np.full((len(p), *shape), np.nan) if a is None else a
            for p, a in zip(parts, arrays, strict=True)
        ]
    )
