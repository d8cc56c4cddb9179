"""`embload export RUN --format csv|parquet|jsonl`: a run's records for pandas, polars or DuckDB.

One flat table, a column per record field (core/record.py), with records.jsonl's names. Parquet
is the run's own records.parquet (store/table.py), copied; csv is written from it a row group at
a time; jsonl is records.jsonl's complete lines. Each is bounded in memory at any length.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

from loadtest.core.errors import NotARun, UsageError
from loadtest.store.files import RECORDS
from loadtest.store.table import COLUMNS, TABLE, ensure

ExportFormat = Literal["csv", "parquet", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet", "jsonl")
__all__ = ["COLUMNS", "FORMATS", "ExportFormat", "export"]


def export(run_dir: Path, fmt: ExportFormat, out: Path | None = None) -> tuple[Path, int]:
    """The file written and how many records it holds."""
    source = run_dir / RECORDS
    if not source.is_file():
        raise NotARun(f"{run_dir} is not a run directory (no {RECORDS})")
    # the default would be the run's own file: the copy gets a name of its own
    target = out or run_dir / f"records.export.{fmt}"
    if target.resolve() in (source.resolve(), (run_dir / TABLE).resolve()):
        raise UsageError(f"{target} is the run's own records file; pick another --out")
    if fmt == "jsonl":
        return target, _complete_copy(source, target)
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    made = ensure(run_dir)
    table = pq.ParquetFile(made)
    count = int(table.metadata.num_rows)
    if fmt == "parquet":
        if isinstance(made, Path):
            shutil.copyfile(made, target)
        else:
            made.seek(0)
            with target.open("wb") as dst:
                shutil.copyfileobj(made, dst, 1 << 20)
        return target, count
    options = pcsv.WriteOptions(quoting_style="needed")
    with pcsv.CSVWriter(target, table.schema_arrow, write_options=options) as writer:
        for group in range(table.num_row_groups):
            writer.write_table(table.read_row_group(group))
    return target, count


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
