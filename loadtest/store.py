"""The run directory on disk: records.jsonl (streamed), summary.json, and user corpus files.

A run directory is everything a later `embload report` needs: one JSON object per request, one
summary computed from them. Records are appended in batches and flushed on every write, so a
crash of the load generator loses at most the batch in hand (under a second of work).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from loadtest.core.payloads import parse_corpus
from loadtest.core.types import RECORD_FIELDS, ErrorKind, Payload, RequestRecord

RECORDS = "records.jsonl"
SUMMARY = "summary.json"


def new_run_dir(base: Path, scenario: str, now: datetime) -> Path:
    """`base/<YYYYmmdd-HHMMSS>-<scenario>`, made fresh (a suffix where the name is taken)."""
    stem = f"{now:%Y%m%d-%H%M%S}-{scenario}"
    for n in range(1, 1000):
        path = base / (stem if n == 1 else f"{stem}-{n}")
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free run directory name under {base} for {stem}")


class RecordWriter:
    """Appends records to records.jsonl; each `write` reaches the OS before it returns."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / RECORDS
        self._file: BinaryIO = self.path.open("ab")
        self.count = 0

    def write(self, rows: Iterable[Sequence[object]]) -> None:
        """Rows of a RequestRecord's fields in RECORD_FIELDS order (see RecordRow)."""
        chunk = b"".join(
            orjson.dumps(dict(zip(RECORD_FIELDS, row, strict=True)), option=_LINE) for row in rows
        )
        if chunk:
            self._file.write(chunk)
            self._file.flush()
            self.count += chunk.count(b"\n")

    def close(self) -> None:
        self._file.close()


_LINE = orjson.OPT_APPEND_NEWLINE


def record_from_json(row: dict[str, Any]) -> RequestRecord:
    error = row.get("error")
    return RequestRecord(**{**row, "error": ErrorKind(error) if error else None})


def read_records(run_dir: Path) -> list[RequestRecord]:
    """Every complete line of records.jsonl; a torn last line (a crash mid-write) is skipped."""
    records = []
    with (run_dir / RECORDS).open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            records.append(record_from_json(orjson.loads(line)))
    return records


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    path = run_dir / SUMMARY
    tmp = path.with_suffix(".json.tmp")
    # Written whole then renamed, so a reader never sees half a summary.
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_summary(run_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))
    return doc


def read_corpus(path: Path) -> tuple[Payload, ...]:
    """A `.txt` (one text a line) or `.jsonl` (`text`, optional `category`) corpus file."""
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read corpus {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"corpus {path} is not UTF-8 text") from None
    try:
        return parse_corpus(content, jsonl=path.suffix == ".jsonl")
    except ValueError as exc:
        raise ValueError(f"corpus {path}: {exc}") from None
