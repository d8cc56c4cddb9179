"""The run directory on disk: records.jsonl (streamed), the sidecar's gpu.jsonl, process.jsonl,
health.jsonl and telemetry.json, startup.json, vectors.jsonl, and summary.json.

A run directory is everything a later `embload report` needs: one JSON object per request or
sample, one summary computed from them. Records are appended in batches and flushed on every
write, so a crash of the load generator loses at most the batch in hand (under a second); their
columnar copy, records.parquet, is loadtest/table.py's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel, ValidationError

from loadtest.core.agreement import Embedded, QualityVectors
from loadtest.core.errors import NotARun, NotWritable
from loadtest.core.quality import QualityResult
from loadtest.core.record import FIELD_NAMES, RecordRow
from loadtest.core.results import RunSummary, Startup, TelemetryStatus
from loadtest.core.telemetry import Telemetry
from loadtest.core.types import (
    GpuSample,
    HealthProbe,
    MetricSample,
    ProcessSample,
    Sample,
    from_json,
    to_json,
)
from loadtest.target.codec import decode_vector, encode_vector

RECORDS = "records.jsonl"
SUMMARY = "summary.json"
GPU = "gpu.jsonl"
PROCESS = "process.jsonl"
LOADGEN = "loadgen.jsonl"  # the load generator's own RSS and CPU (ProcessSample), every second
HEALTH = "health.jsonl"
TELEMETRY = "telemetry.json"  # what the sidecar could sample, and why not
SERVER_METRICS = "server_metrics.jsonl"  # the server's own Prometheus metrics, scraped
STARTUP = "startup.json"  # written by `embload run --serve` before the load starts
REPORT = "report.html"
COMPARE = "compare.json"  # a compare's folder: its result
COMPARE_HTML = "compare.html"
SWEEP_HTML = "sweep.html"
SWEEP = "sweep.json"  # a sweep's folder: its result
PROBE = "probe.json"  # `embload probe`'s folder: its result
VECTORS = "vectors.jsonl"  # a sample of reply vectors under load, for the quality probe
QUALITY = "quality.json"  # `embload quality`'s folder: its result
QUALITY_VECTORS = "quality_vectors.npz"  # ...and every vector it embedded, for agreements
_LINE = orjson.OPT_APPEND_NEWLINE


def writable_dir(path: Path, keep: bool = True) -> Path:
    """`path`, made if need be and checked by writing a file there, before any load depends on
    it: a mistyped or read-only --out fails now, in one line, not after the run. `keep=False`:
    the directories made for the check are taken away again (a run that fails later leaves
    nothing behind)."""
    made = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".embload-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise NotWritable(f"cannot write to {path}: {why}; pick another --out") from None
    if not keep:
        for directory in made:  # deepest first
            directory.rmdir()
    return path


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


def run_dir_for(out: Path | None, reports: Path, scenario: str) -> Path:
    """`--out` as given, or a fresh `<reports>/<time>-<scenario>/`."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        return out
    return new_run_dir(reports, scenario, datetime.now())


class JsonlWriter:
    """Appends JSON lines to one file; each `write` reaches the OS before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("ab")
        self.count = 0

    def write_lines(self, chunk: bytes) -> None:
        if chunk:
            self._file.write(chunk)
            self._file.flush()
            self.count += chunk.count(b"\n")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        self.write_lines(b"".join(orjson.dumps(row, option=_LINE) for row in rows))

    def close(self) -> None:
        self._file.close()


class RecordWriter(JsonlWriter):
    """records.jsonl: a line per RecordRow, keyed by its fields' names."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(run_dir / RECORDS)

    def write_rows(self, rows: Sequence[RecordRow]) -> None:
        # the load path builds its rows with tuple.__new__, which counts no fields: one check a
        # batch, not zip(strict=True) on every row (bench/RESULTS.md, 2026-12-05)
        if rows and len(rows[0]) != len(FIELD_NAMES):
            raise TypeError(f"a record of {len(rows[0])} fields, not {len(FIELD_NAMES)}")
        self.write(dict(zip(FIELD_NAMES, row)) for row in rows)  # noqa: B905 - checked above


def write_samples(writer: JsonlWriter, samples: Iterable[GpuSample | ProcessSample]) -> None:
    writer.write(to_json(s) for s in samples)


def complete_lines(path: Path) -> int:
    """How many whole lines a JSONL file holds (a torn last one is not one)."""
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete line, one at a time: a torn last one (a crash mid-write) is skipped; no
    file gives none."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            yield orjson.loads(line)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


def _samples(cls: type[Sample], path: Path) -> list[Sample]:
    return [from_json(cls, row) for row in _read_jsonl(path)]


def read_gpu_samples(run_dir: Path) -> list[GpuSample]:
    return _samples(GpuSample, run_dir / GPU)


def read_process_samples(run_dir: Path) -> list[ProcessSample]:
    return _samples(ProcessSample, run_dir / PROCESS)


def read_loadgen_samples(run_dir: Path) -> list[ProcessSample]:
    return _samples(ProcessSample, run_dir / LOADGEN)


def read_health(run_dir: Path) -> list[HealthProbe]:
    return _samples(HealthProbe, run_dir / HEALTH)


def read_server_metrics(run_dir: Path) -> list[MetricSample]:
    return _samples(MetricSample, run_dir / SERVER_METRICS)


def vector_row(text: str, vector: np.ndarray) -> dict[str, Any]:
    return {"text": text, "vector": encode_vector(vector)}


def read_vectors(run_dir: Path) -> list[tuple[str, np.ndarray]]:
    rows = _read_jsonl(run_dir / VECTORS)
    return [(row["text"], decode_vector(row["vector"]).astype(np.float64)) for row in rows]


def write_json(path: Path, doc: dict[str, Any] | BaseModel) -> Path:
    """Written whole then renamed, so a reader never sees half a file."""
    text = (
        doc.model_dump_json(indent=2)
        if isinstance(doc, BaseModel)
        else json.dumps(doc, indent=2, ensure_ascii=False)
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


M = TypeVar("M", bound=BaseModel)


def read_model(path: Path, cls: type[M]) -> M:
    """A JSON file as `cls`; NotARun (one line) when it is missing or not of that shape."""
    try:
        return cls.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise NotARun(f"{path.parent} is not a run directory: it has no {path.name}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the document"
        raise NotARun(
            f"{path} is not an embload {cls.__name__} of this version ({where}: {first['msg']})"
        ) from None


def read_summary(run_dir: Path) -> RunSummary:
    return read_model(run_dir / SUMMARY, RunSummary)


def read_startup(run_dir: Path) -> Startup | None:
    path = run_dir / STARTUP
    return read_model(path, Startup) if path.exists() else None


def read_telemetry(run_dir: Path, server_pids: Sequence[int], oom_threshold: float) -> Telemetry:
    """Everything the sidecar and the bundled server's start-up left in `run_dir`."""
    path = run_dir / TELEMETRY
    why = "no telemetry was collected for this run"
    if path.exists():
        why = read_model(path, TelemetryStatus).gpu_unavailable or "no GPU samples"
    return Telemetry(
        oom_threshold=oom_threshold,
        gpu=read_gpu_samples(run_dir),
        process=read_process_samples(run_dir),
        health=read_health(run_dir),
        startup=read_startup(run_dir),
        gpu_unavailable=why,
        pids=tuple(server_pids),
    )


_PARTS = ("documents", "queries", "corpus")  # QualityVectors' fields, in their order


def write_quality_vectors(out: Path, vectors: QualityVectors) -> Path:
    """quality_vectors.npz: per part (documents, queries, corpus) its ids, categories and
    vectors (float32, as servers send them), written whole then renamed."""
    arrays: dict[str, Any] = {}  # Any: numpy types **kwds as savez's allow_pickle
    parts = (vectors.documents, vectors.queries, vectors.corpus)
    for part, embedded in zip(_PARTS, parts, strict=True):
        arrays[f"{part}_ids"] = np.array(embedded.ids, dtype=np.str_)
        arrays[f"{part}_categories"] = np.array(embedded.categories, dtype=np.str_)
        arrays[f"{part}_vectors"] = np.asarray(embedded.vectors, dtype=np.float32)
    path = out / QUALITY_VECTORS
    tmp = out / f".{QUALITY_VECTORS}.tmp"
    with tmp.open("wb") as f:  # a file object: np.savez would add .npz to a path
        np.savez(f, **arrays)
    tmp.replace(path)
    return path


def read_quality_vectors(quality_dir: Path) -> QualityVectors:
    """What `embload quality` embedded into `quality_dir`; NotARun (one line) when it is not
    there or not of this shape."""
    path = quality_dir / QUALITY_VECTORS
    try:
        with np.load(path, allow_pickle=False) as npz:
            parts = [
                Embedded(
                    ids=tuple(str(i) for i in npz[f"{part}_ids"]),
                    categories=tuple(str(c) for c in npz[f"{part}_categories"]),
                    vectors=npz[f"{part}_vectors"].astype(np.float64),
                )
                for part in _PARTS
            ]
    except FileNotFoundError:
        raise NotARun(f"{quality_dir} is not an `embload quality` folder: no {path.name}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise NotARun(f"{path} is not an embload quality_vectors file ({exc})") from None
    if any(len(p.ids) != len(p.vectors) or len(p.ids) != len(p.categories) for p in parts):
        raise NotARun(f"{path}: ids, categories and vectors differ in length")
    return QualityVectors(*parts)


def read_quality(quality_dir: Path) -> QualityResult:
    return read_model(quality_dir / QUALITY, QualityResult)
