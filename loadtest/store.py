"""The run directory on disk: records.jsonl (streamed), the monitor's gpu.jsonl, process.jsonl
and health.jsonl, telemetry.json, summary.json; and user corpus files.

A run directory is everything a later `embload report` needs: one JSON object per request or
sample, one summary computed from them. Records are appended in batches and flushed on every
write, so a crash of the load generator loses at most the batch in hand (under a second).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from loadtest.core.payloads import parse_corpus
from loadtest.core.series import RecordColumns
from loadtest.core.stats import summarize
from loadtest.core.telemetry import gpu_summary, oom_events, process_summary
from loadtest.core.types import (
    RECORD_FIELDS,
    ErrorKind,
    GpuSample,
    HealthProbe,
    Payload,
    ProcessSample,
    RequestRecord,
)

RECORDS = "records.jsonl"
SUMMARY = "summary.json"
GPU = "gpu.jsonl"
PROCESS = "process.jsonl"
HEALTH = "health.jsonl"
TELEMETRY = "telemetry.json"
STARTUP = "startup.json"  # written by `embload run --serve` before the load starts
REPORT = "report.html"
VECTORS = "vectors.jsonl"  # a sample of reply vectors under load, for the quality probe


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


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete line: a torn last one (a crash mid-write) is skipped; no file gives []."""
    rows = []
    try:
        with path.open("rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break
                rows.append(orjson.loads(line))
    except FileNotFoundError:
        return []
    return rows


def read_record_columns(run_dir: Path) -> RecordColumns:
    """The columns the report draws, without building a record object per line."""
    rows = _read_jsonl(run_dir / RECORDS)
    return RecordColumns(
        start_time=np.array([r["start_time"] for r in rows], dtype=float),
        latency_s=np.array([r["latency_s"] for r in rows], dtype=float),
        ok=np.array([r["error"] is None for r in rows], dtype=bool),
        user=np.array([r["user"] for r in rows], dtype=np.int64),
        chars=np.array([r["chars"] for r in rows], dtype=np.int64),
        tokens=np.array(
            [np.nan if r["prompt_tokens"] is None else r["prompt_tokens"] for r in rows],
            dtype=float,
        ),
        inputs=np.array([r["inputs"] for r in rows], dtype=np.int64),
    )


def read_records(run_dir: Path) -> list[RequestRecord]:
    if not (run_dir / RECORDS).exists():
        raise FileNotFoundError(f"{run_dir} has no {RECORDS}")
    return [record_from_json(row) for row in _read_jsonl(run_dir / RECORDS)]


class JsonlWriter:
    """Appends JSON lines to one file (the monitor's gpu, process and health files)."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO = path.open("ab")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        chunk = b"".join(orjson.dumps(row, option=_LINE) for row in rows)
        if chunk:
            self._file.write(chunk)
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def gpu_sample_to_json(sample: GpuSample) -> dict[str, Any]:
    row = asdict(sample)
    row["process_mem_bytes"] = {str(pid): used for pid, used in sample.process_mem_bytes.items()}
    return row


def gpu_sample_from_json(row: dict[str, Any]) -> GpuSample:
    procs = {int(pid): int(used) for pid, used in row["process_mem_bytes"].items()}
    return GpuSample(**{**row, "process_mem_bytes": procs})


def vector_row(text: str, vector: np.ndarray) -> dict[str, Any]:
    return {"text": text, "vector": base64.b64encode(vector.astype("<f4").tobytes()).decode()}


def read_vectors(run_dir: Path) -> list[tuple[str, np.ndarray]]:
    return [
        (row["text"], np.frombuffer(base64.b64decode(row["vector"]), dtype="<f4"))
        for row in _read_jsonl(run_dir / VECTORS)
    ]


def read_gpu_samples(run_dir: Path) -> list[GpuSample]:
    return [gpu_sample_from_json(row) for row in _read_jsonl(run_dir / GPU)]


def read_process_samples(run_dir: Path) -> list[ProcessSample]:
    return [ProcessSample(**row) for row in _read_jsonl(run_dir / PROCESS)]


def read_health(run_dir: Path) -> list[HealthProbe]:
    return [HealthProbe(**row) for row in _read_jsonl(run_dir / HEALTH)]


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    # Written whole then renamed, so a reader never sees half a file.
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    return write_json(run_dir / SUMMARY, summary)


def read_telemetry(run_dir: Path) -> dict[str, Any]:
    """What the monitor could read: {"gpu": "nvml" | "agent" | null, "gpu_unavailable": ...}."""
    try:
        doc: dict[str, Any] = json.loads((run_dir / TELEMETRY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"gpu": None, "gpu_unavailable": "no telemetry was collected for this run"}
    return doc


def summarize_run_dir(
    run_dir: Path,
    *,
    meta: dict[str, Any],
    duration_s: float,
    load_start: float,
    server_pid: int | None,
    oom_threshold: float,
) -> dict[str, Any]:
    """summary.json from the files of a run: records, GPU, process and health samples."""
    records = read_records(run_dir)
    gpu = read_gpu_samples(run_dir)
    status = read_telemetry(run_dir)
    pids = [server_pid] if server_pid else []
    startup = run_dir / STARTUP
    return {
        **summarize(records, duration_s=duration_s, meta=meta),
        "startup": json.loads(startup.read_text(encoding="utf-8")) if startup.exists() else None,
        "gpu": gpu_summary(gpu, load_start=load_start, server_pids=pids),
        "gpu_unavailable": None if gpu else status.get("gpu_unavailable") or "no GPU samples",
        "server_process": process_summary(read_process_samples(run_dir), load_start=load_start),
        "oom_threshold": oom_threshold,
        "oom_events": oom_events(records, gpu, read_health(run_dir), oom_threshold),
    }


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
