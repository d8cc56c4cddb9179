"""Trace files: read a line at a time, checked, written (docs/traces.md).

`.jsonl` or `.csv` by the name's suffix, either gzipped as `.jsonl.gz` / `.csv.gz`. Reading
streams: memory is one line deep however long the trace. Every failure, a missing file's
included, is one TraceError naming the file (and the line and field, for a bad line).

A past run's traffic as a trace is run_traces.py's (`trace_from_run`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from loadtest.core.errors import TraceError
from loadtest.core.model import Model
from loadtest.core.trace import TraceParser, TraceRequest, trace_line

SUFFIXES = (".jsonl", ".csv", ".jsonl.gz", ".csv.gz")
CSV_COLUMNS = ("t", "texts", "inputs", "tokens", "category")
_BOM = b"\xef\xbb\xbf"
_CELL_CHARS = 1 << 28  # csv's default cell limit (128 KiB) is less than a batch of long texts


class TraceInfo(Model):
    """A trace file as checked: where, its bytes' SHA-256, its requests and span."""

    path: str
    sha256: str
    lines: int  # requests: blank lines and a CSV's header are not
    span_s: float  # from the first request's time to the last's


def trace_format(path: Path) -> tuple[str, bool]:
    """("jsonl" or "csv", gzipped) from the file's name."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    base = name.removesuffix(".gz")
    for kind in ("jsonl", "csv"):
        if base.endswith(f".{kind}"):
            return kind, gz
    raise TraceError(f"trace {path}: name it .jsonl or .csv (or .jsonl.gz, .csv.gz)")


class _Hashed(io.RawIOBase):
    """A file read through, its bytes hashed on the way."""

    def __init__(self, raw: io.BufferedReader, digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
        return int(n or 0)

    def drain(self) -> None:
        while chunk := self.raw.read(1 << 20):
            self.digest.update(chunk)


def _lines_of(path: Path, digest: Any) -> Iterator[TraceRequest]:
    kind, gz = trace_format(path)
    parser = TraceParser(str(path))
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror}") from None
    with raw:
        hashed = _Hashed(raw, digest) if digest is not None else None
        stream: IO[bytes] = io.BufferedReader(hashed) if hashed is not None else raw
        try:
            if gz:
                stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
            rows = _jsonl(stream, parser) if kind == "jsonl" else _csv(stream, parser)
            yield from rows
            if hashed is not None:
                stream.read()  # what a gzip stream holds past the last line
                hashed.drain()
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else f"{exc}"
            raise TraceError(f"cannot read trace {path}: {why}") from None


def _jsonl(stream: IO[bytes], parser: TraceParser) -> Iterator[TraceRequest]:
    for number, raw in enumerate(stream, start=1):
        line = raw.removeprefix(_BOM) if number == 1 else raw
        if not line.strip():
            continue
        try:
            row = orjson.loads(line.rstrip(b"\r\n"))
        except orjson.JSONDecodeError as exc:
            raise parser.error(number, f"not JSON: {exc.msg} at column {exc.colno}") from None
        yield parser.parse(row, number)


def _csv(stream: IO[bytes], parser: TraceParser) -> Iterator[TraceRequest]:
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_CHARS))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header: list[str] | None = None
    start = 1  # the line a row starts on: a quoted cell may hold line breaks
    try:
        for cells in reader:
            number, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                if "t" not in header and "timestamp" not in header:
                    raise parser.error(number, 'no time column: name one "t" or "timestamp"')
                continue
            if len(cells) != len(header):
                raise parser.error(number, f"{len(cells)} cells, the header names {len(header)}")
            yield parser.parse_csv(dict(zip(header, cells, strict=True)), number)
    except csv.Error as exc:
        raise parser.error(start, f"not CSV: {exc}") from None
    finally:
        text.detach()  # closing it would close the file under it, still being hashed


def read_trace(path: Path) -> Iterator[TraceRequest]:
    """The trace's requests in order, a line at a time; TraceError at the first bad line."""
    yield from _lines_of(path, None)


def check_trace(path: Path) -> TraceInfo:
    """Every line checked and the bytes hashed, in one pass; a trace without requests is an
    error too (nothing to replay)."""
    digest = hashlib.sha256()
    lines, first_s, last_s = 0, 0.0, 0.0
    for request in _lines_of(path, digest):
        if not lines:
            first_s = request.t_s
        lines, last_s = lines + 1, request.t_s
    if not lines:
        raise TraceError(f"trace {path} has no requests")
    return TraceInfo(
        path=str(path), sha256=digest.hexdigest(), lines=lines, span_s=last_s - first_s
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _csv_row(request: TraceRequest) -> list[object]:
    row = trace_line(request)

    def cell(key: str) -> object:
        value = row.get(key)
        if isinstance(value, list):
            return json.dumps(value, ensure_ascii=False)
        return "" if value is None or (key == "inputs" and "texts" in row) else value

    return [cell(key) for key in CSV_COLUMNS]


def _write(f: IO[bytes], kind: str, requests: Iterable[TraceRequest]) -> tuple[int, float]:
    """The lines written, and the span from the first request's time to the last's."""
    lines, first_s, last_s = 0, 0.0, 0.0
    text = io.TextIOWrapper(f, encoding="utf-8", newline="") if kind == "csv" else None
    writer = csv.writer(text, lineterminator="\n") if text is not None else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for request in requests:
        if lines and request.t_s < last_s:
            raise ValueError(f"line {request.line} goes back in time: a trace is in time order")
        if not lines:
            first_s = request.t_s
        lines, last_s = lines + 1, request.t_s
        if writer is not None:
            writer.writerow(_csv_row(request))
        else:
            f.write(orjson.dumps(trace_line(request), option=orjson.OPT_APPEND_NEWLINE))
    if text is not None:
        text.flush()
        text.detach()  # the binary file stays the caller's to close
    return lines, last_s - first_s


def write_trace(path: Path, requests: Iterable[TraceRequest]) -> TraceInfo:
    """The requests as a trace file, `.jsonl` or `.csv` (gzipped for `.gz`), written whole then
    renamed, so a reader never sees half a trace."""
    kind, gz = trace_format(path)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with part.open("wb") as raw:
            if gz:  # no time in the header: the same requests make the same bytes
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
                    lines, span_s = _write(f, kind, requests)  # type: ignore[arg-type]
            else:
                lines, span_s = _write(raw, kind, requests)
        part.replace(path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise TraceError(f"cannot write trace {path}: {exc.strerror or exc}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return TraceInfo(path=str(path), sha256=file_sha256(path), lines=lines, span_s=span_s)
