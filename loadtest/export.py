"""`embload export RUN --format csv|parquet|jsonl`: a run's records for pandas, polars or DuckDB.

Read a line at a time and written as they come (parquet in row groups of 100,000), so a run of
any length exports in bounded memory. One flat table, a column per record field: the server's
clock (`server_s`) becomes `server_queue_s`, `server_tokenization_s`, `server_inference_s` and
`server_total_s`. Parquet needs pyarrow (`pip install 'embload[parquet]'`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from loadtest.core.types import RECORD_FIELDS
from loadtest.store import RECORDS, NotARun, iter_jsonl

ExportFormat = Literal["csv", "parquet", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet", "jsonl")
_CLOCK = ("server_queue_s", "server_tokenization_s", "server_inference_s", "server_total_s")
COLUMNS = tuple(f for f in RECORD_FIELDS if f != "server_s") + _CLOCK
_ROW_GROUP = 100_000


class ExportError(Exception):
    """One line for the user."""


def _flat(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        clock = row.pop("server_s", None) or (None, None, None, None)
        yield {**row, **dict(zip(_CLOCK, clock, strict=True))}


def export(run_dir: Path, fmt: ExportFormat, out: Path | None = None) -> tuple[Path, int]:
    """The file written and how many records it holds."""
    source = run_dir / RECORDS
    if not source.is_file():
        raise NotARun(f"{run_dir} is not a run directory (no {RECORDS})")
    # jsonl's default would be the records file itself: the copy gets a name of its own
    default = "records.export.jsonl" if fmt == "jsonl" else f"records.{fmt}"
    target = out or run_dir / default
    if target.resolve() == source.resolve():
        raise ExportError(f"{target} is the records file itself; pick another --out")
    rows = _flat(iter_jsonl(source))
    if fmt == "jsonl":
        return target, _complete_copy(source, target)
    if fmt == "csv":
        count = 0
        with target.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
                count += 1
        return target, count
    return target, _parquet(rows, target)


def _complete_copy(source: Path, target: Path) -> int:
    """The file's complete lines (a torn last one left out), copied in one pass; how many."""
    count = written = end = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
            count += chunk.count(b"\n")
            if (cut := chunk.rfind(b"\n")) >= 0:
                end = written + cut + 1
            written += len(chunk)
        dst.truncate(end)
    return count


def _parquet(rows: Iterator[dict[str, Any]], target: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError(
            "parquet needs pyarrow: pip install 'embload[parquet]' (or export csv or jsonl)"
        ) from None
    schema = pa.schema(
        [
            ("start_time", pa.float64()),
            ("latency_s", pa.float64()),
            ("status", pa.int32()),
            ("error", pa.string()),
            ("error_message", pa.string()),
            ("inputs", pa.int32()),
            ("chars", pa.int64()),
            ("prompt_tokens", pa.int64()),
            ("category", pa.string()),
            ("bucket", pa.string()),
            ("user", pa.int64()),
            ("worker", pa.string()),
            ("send_lag_s", pa.float64()),
            *[(name, pa.float64()) for name in _CLOCK],
        ]
    )
    count = 0
    with pq.ParquetWriter(target, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == _ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count
