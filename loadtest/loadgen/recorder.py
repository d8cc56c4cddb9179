"""One test in one load-generator process: what it sends, what it has recorded so far, and the
run directory it ends as. Free of Locust: locust_user.py holds the Recorder on Locust's
Environment and calls it from Locust's events.

A worker's recorder only buffers records (and sampled vectors) for the master, which it sends as
WorkerBatch messages; the last one says how many rows the worker sent in all. A local or master
recorder owns the run directory: the records file, the telemetry sidecar and, at the end,
summary.json. On the master, a Gathering writes what workers send and knows, before the summary,
whether every worker's rows have all arrived.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from loadtest import __version__
from loadtest.client import Target, redact, reply_vectors, request_headers
from loadtest.core.arrivals import ArrivalCount, LoadShape, load_figures
from loadtest.core.dialects import SPECS
from loadtest.core.live import LiveFigures
from loadtest.core.payloads import Scenario, scenario_pools
from loadtest.core.results import LoadEnvironment, ModelCard, RunSummary
from loadtest.core.stats import cost, server_time, summarize
from loadtest.core.thresholds import Threshold, check_all
from loadtest.core.types import ErrorKind, Payload, RecordRow
from loadtest.data import builtin_corpus, read_corpus
from loadtest.history import history_path, index_run
from loadtest.monitor import Monitor, MonitorConfig, start_monitor
from loadtest.push import push_summary
from loadtest.settings import LoadSettings
from loadtest.store import (
    RECORDS,
    SUMMARY,
    VECTORS,
    JsonlWriter,
    RecordWriter,
    complete_lines,
    new_run_dir,
    read_telemetry,
    vector_row,
    write_json,
)
from loadtest.table import read_columns, read_timing

_KEEP_EVERY = 10  # one good reply in ten has its vectors kept, so the sample spans the run
_PACKAGES = ("locust", "geventhttpclient", "numpy", "pysimdjson", "pybase64", "nvidia-ml-py")


@dataclass(frozen=True)
class WorkerBatch:
    """What a worker sends the master: records and sampled vectors since the last batch. The
    final one (`sent`: rows sent in the whole test) lets the master check nothing was lost."""

    worker: str
    rows: list[RecordRow]
    vectors: list[dict[str, str]]
    sent: int | None = None  # set on the final batch only
    arrivals: ArrivalCount | None = None  # an open loop's, on the final batch

    def to_message(self) -> dict[str, object]:
        """Plain lists and strings, as Locust's msgpack carries them (ErrorKind as its text)."""
        rows = [[*r[:3], r[3] and r[3].value, *r[4:]] for r in self.rows]
        a = self.arrivals
        arrivals = a and [a.due, a.dropped, a.active_s]
        return {
            "worker": self.worker,
            "rows": rows,
            "vectors": self.vectors,
            "sent": self.sent,
            "arrivals": arrivals,
        }

    @classmethod
    def from_message(cls, data: Any) -> WorkerBatch:
        """The batch from what msgpack delivered (`data`: to_message's dict)."""
        rows: list[RecordRow] = [(*r[:3], r[3] and ErrorKind(r[3]), *r[4:]) for r in data["rows"]]
        arrivals = data["arrivals"] and ArrivalCount(*data["arrivals"])
        return cls(data["worker"], rows, data["vectors"], data["sent"], arrivals)


class VectorBuffer:
    """A worker's sampled vectors, held until the next batch goes to the master."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def write(self, rows: Iterable[dict[str, str]]) -> None:
        self.rows.extend(rows)

    def take(self) -> list[dict[str, str]]:
        taken, self.rows = self.rows, []
        return taken

    def close(self) -> None:
        """Nothing to close: the rows leave with the batches."""


@dataclass
class Recorder:
    settings: LoadSettings
    scenario: Scenario
    target: Target
    card: ModelCard | None  # the model as /v1/models lists it: weights, device, truncation
    pools: dict[str, tuple[Payload, ...]]
    worker: str  # "local", or "worker-N" of a distributed run
    headers: dict[str, str]  # of every request, the bearer token included
    model: str | None  # sent with every request: as given, else the first /v1/models lists
    url: str  # of the embeddings route, as Locust's request event names it
    started_at: float = field(default_factory=time.time)
    expected_dim: int | None = None  # set by the first good reply unless asked for
    buffer: list[RecordRow] = field(default_factory=list)
    next_user: int = 0
    peak_users: int = 0
    writer: RecordWriter | None = None
    run_dir: Path | None = None
    monitor: Monitor | None = None
    vectors: JsonlWriter | VectorBuffer | None = None
    good_replies: int = 0  # counted only while vectors are kept
    sent: int = 0  # rows a worker has sent the master
    thresholds: list[Threshold] = field(default_factory=list)  # --fail-on, parsed at the start
    live: LiveFigures | None = None  # for Locust's web UI, while a test runs there
    write_error: str | None = None  # why records stopped being written (the disk filled)
    stopping: bool = False  # the load was told to stop for it
    produced: int = 0  # records handed to the writer, written or not

    def begin(self, run_dir: Path) -> None:
        """Open the records, start the sidecar; the load starts once it has idle readings."""
        s = self.settings
        self.run_dir = run_dir
        self.writer = RecordWriter(run_dir)
        if s.keep_vectors:
            self.vectors = JsonlWriter(run_dir / VECTORS)
        self.monitor = start_monitor(
            MonitorConfig(
                run_dir=run_dir,
                interval_s=s.gpu_interval_s,
                gpu_index=s.gpu_index,
                gpu_agent=s.gpu_agent,
                server_pid=s.server_pid,
                host=self.target.host,
                health_path=s.health_path,
                metrics_url=_metrics_url(s.server_metrics, self.target.host),
            )
        )
        self.started_at = time.time()

    def flush(self, limit: int | None = None) -> list[RecordRow]:
        """The records buffered since the last flush (the first `limit` of them), written when
        this process owns the run."""
        if limit is None or limit >= len(self.buffer):
            batch, self.buffer = self.buffer, []
        else:
            batch, self.buffer = self.buffer[:limit], self.buffer[limit:]
        if batch and self.writer is not None:
            self.write_rows(batch)
        return batch

    def write_rows(self, rows: list[RecordRow]) -> None:
        """To records.jsonl, until it cannot be written (a full disk): from then on, counted as
        lost, and `write_error` says why, for the load to stop on."""
        assert self.writer is not None
        self.produced += len(rows)
        if self.live is not None:
            self.live.add(rows)
        if self.write_error is None:
            try:
                self.writer.write_rows(rows)
            except OSError as exc:
                self.write_error = f"cannot write {self.writer.path}: {exc.strerror or exc}"

    def begin_worker(self) -> None:
        if self.settings.keep_vectors:
            self.vectors = VectorBuffer()

    def batch(
        self, final: bool = False, arrivals: ArrivalCount | None = None, limit: int | None = None
    ) -> WorkerBatch:
        """A worker's records (the first `limit`) and vectors since the last batch, for the
        master; the final one with the count of every row sent and, in an open loop, of its
        arrivals."""
        rows = self.flush(None if final else limit)
        self.sent += len(rows)
        vectors = self.vectors.take() if isinstance(self.vectors, VectorBuffer) else []
        return WorkerBatch(self.worker, rows, vectors, self.sent if final else None, arrivals)

    @property
    def inputs_per_request(self) -> int:
        return self.settings.batch or self.scenario.inputs_per_request

    def load_shape(self, users: int | None) -> LoadShape:
        """Open (its plan; the users are the in-flight cap) or closed."""
        s = self.settings
        if s.rate_rps is None:
            return LoadShape("closed")
        return LoadShape("open", s.rate_rps, s.arrival, s.burstiness, users)

    def keep_vectors(self, texts: list[str], content: bytes) -> None:
        """Now and then, the vectors of a good reply with their texts, for the probe."""
        if self.vectors is None:
            return
        self.good_replies += 1
        n = self.good_replies
        if n % _KEEP_EVERY == 0 and n // _KEEP_EVERY <= self.settings.keep_vectors:
            shape = SPECS[self.target.dialect].shape
            pairs = zip(texts, reply_vectors(content, shape), strict=True)
            try:
                self.vectors.write(vector_row(t, v) for t, v in pairs)
            except OSError as exc:
                self.write_error = self.write_error or f"cannot write {VECTORS}: {exc.strerror}"

    def finish(
        self,
        users: int | None,
        warnings: list[str] | None = None,
        arrivals: ArrivalCount | None = None,
        interrupted: str | None = None,
    ) -> RunSummary:
        """Close the records, stop the sidecar, write summary.json from the files; the summary.
        `interrupted`: the signal that stopped the test early (SIGINT, SIGTERM)."""
        assert self.writer is not None and self.run_dir is not None
        self.flush()
        for writer in (self.writer, self.vectors):
            if not isinstance(writer, JsonlWriter):
                continue
            try:
                writer.close()
            except OSError as exc:  # what was buffered had nowhere to go
                self.write_error = self.write_error or f"cannot write {writer.path}: {exc}"
        warnings = list(warnings or [])
        if self.write_error is not None:
            kept = complete_lines(self.run_dir / RECORDS)
            warnings.append(
                f"{self.write_error}: the load stopped there; {kept:,} records are kept, the "
                f"{max(0, self.produced - kept):,} after them are in no file"
            )
        duration_s = time.time() - self.started_at
        if self.monitor is not None:
            self.monitor.stop()
        s = self.settings
        db = history_path(s.reports, s.history)
        summary = write_summary(
            self.run_dir,
            meta={
                **self._meta(self.peak_users or users),
                "warnings": warnings,
                "interrupted": interrupted,
                "write_error": self.write_error,
                "history": None if db is None else str(db.resolve()),
            },
            duration_s=duration_s,
            load_start=self.started_at,
            server_pids=[s.server_pid] if s.server_pid else [],
            oom_threshold=s.oom_threshold,
            thresholds=self.thresholds,
            load=(self.load_shape(self.peak_users or users), arrivals),
            usd_per_hour=s.gpu_cost_per_hour,
        )
        if warning := index_run(db, self.run_dir, summary):  # the run's files are what count
            print(f"embload: warning: {warning}", file=sys.stderr)
        if s.push_gateway:
            try:
                push_summary(s.push_gateway, summary)
            except OSError as exc:
                print(f"embload: warning: not pushed to {s.push_gateway}: {exc}", file=sys.stderr)
        return summary

    def _meta(self, users: int | None) -> dict[str, object]:
        s = self.settings
        return {
            "scenario": self.scenario.name,
            "target": redact(self.target.base_url),
            "route": redact(self.target.url),
            "dialect": self.target.dialect,
            "model": self.model,
            "users": users,
            "inputs_per_request": self.inputs_per_request,
            # the dialects without base64 send and get floats, whatever was asked
            "encoding_format": s.encoding_format if SPECS[self.target.dialect].base64 else "float",
            "dimensions": s.dimensions,
            "seed": s.seed,
            "corpus": str(s.corpus) if s.corpus else "builtin",
            "instruction": s.instruction,
            "extra_headers": sorted(s.headers),  # names only: values may be credentials
            "started_at": datetime.fromtimestamp(self.started_at).astimezone().isoformat(),
            "started_at_unix": self.started_at,
            "embload_version": __version__,
            "server_model": self.card,
            "environment": load_environment(),
        }


_NONE = ArrivalCount()


@dataclass
class _Tally:
    received: int = 0
    sent: int | None = None  # from the worker's final batch
    arrivals: ArrivalCount | None = None  # likewise, in an open loop


class Gathering:
    """The master's side of a distributed test: workers' rows and vectors written as they
    come, and each worker's final count checked against what arrived."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.tallies: dict[str, _Tally] = {}

    def take(self, batch: WorkerBatch) -> int:
        """Writes the batch; the rows received from its worker so far."""
        r = self.recorder
        if batch.rows and r.writer is not None:
            r.write_rows(batch.rows)
        if batch.vectors and isinstance(r.vectors, JsonlWriter):
            r.vectors.write(batch.vectors)
        tally = self.tallies.setdefault(batch.worker, _Tally())
        tally.received += len(batch.rows)
        if batch.sent is not None:
            tally.sent = batch.sent
            tally.arrivals = batch.arrivals
        return tally.received

    def arrivals(self) -> ArrivalCount | None:
        """The workers' open-loop arrivals together; None in a closed loop."""
        counts = [t.arrivals for t in self.tallies.values() if t.arrivals is not None]
        return sum(counts, ArrivalCount()) if counts else None

    def complete(self, worker: str) -> bool:
        tally = self.tallies.get(worker)
        return tally is not None and tally.sent is not None and tally.received >= tally.sent

    def shortfalls(self, workers: Iterable[str], open_loop: float | None = None) -> list[str]:
        """One line per worker whose records did not all arrive, and in an open loop, per
        worker that sent none of its share of the arrivals."""
        lines = []
        for worker in sorted(set(workers) | set(self.tallies)):
            tally = self.tallies.get(worker, _Tally())
            due = (tally.arrivals or _NONE).due
            if open_loop is not None and tally.sent is not None and not due:
                lines.append(
                    f"{worker} ran no users, so its share of the {open_loop:g} req/s went "
                    "unsent: give -u at least one user per worker"
                )
            if tally.sent is None:
                lines.append(
                    f"{worker} never sent its final records ({tally.received} received): "
                    "the summary misses its last requests"
                )
            elif tally.received < tally.sent:
                lines.append(f"{worker} sent {tally.sent} records, {tally.received} arrived")
        return lines


def write_summary(
    run_dir: Path,
    *,
    meta: dict[str, object],
    duration_s: float,
    load_start: float,
    server_pids: list[int],
    oom_threshold: float,
    thresholds: list[Threshold] | None = None,
    load: tuple[LoadShape, ArrivalCount | None] = (LoadShape("closed"), None),
    usd_per_hour: float | None = None,
) -> RunSummary:
    """summary.json from the run directory's files (records and telemetry) and `meta`, with
    how the load was offered (`load`: its shape and an open loop's arrivals) and each
    threshold's verdict on its figures."""
    # the timing columns first and apart (at ten million, 400 MB of them), then the rest
    timing = read_timing(run_dir)
    timed = {"server_time_ms": server_time(timing), "load": load_figures(*load, timing, duration_s)}
    del timing
    summary = summarize(
        read_columns(run_dir, timing=False),
        read_telemetry(run_dir, server_pids, oom_threshold),
        meta=meta,
        duration_s=duration_s,
        load_start=load_start,
    ).model_copy(update=timed)
    if usd_per_hour is not None:
        summary = summary.model_copy(update={"cost": cost(usd_per_hour, summary)})
    if thresholds:
        summary = summary.model_copy(update={"thresholds": check_all(thresholds, summary)})
    write_json(run_dir / SUMMARY, summary)
    return summary


def _metrics_url(given: str | None, host: str) -> str | None:
    """--server-metrics: a URL as given, `off` for none, else the target's /metrics."""
    if given is None:
        return host + "/metrics"
    return None if given.strip().lower() == "off" else given


def new_recorder(
    settings: LoadSettings,
    scenario: Scenario,
    target: Target,
    card: ModelCard | None,
    worker: str,
) -> Recorder:
    """A recorder with the scenario's pools drawn from the corpus the settings name."""
    items = read_corpus(settings.corpus) if settings.corpus else builtin_corpus()
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    return Recorder(
        settings=settings,
        scenario=scenario,
        target=target,
        card=card,
        pools=scenario_pools(scenario, items, user_corpus=settings.corpus is not None),
        worker=worker,
        headers=request_headers(api_key, settings.headers),
        # worked out once: the load path reads both on every request
        model=settings.model or (card.id if card else None),
        url=target.url,
        expected_dim=settings.dimensions,
    )


def run_dir_for(settings: LoadSettings, scenario: str) -> Path:
    """`--out` as given, or a fresh `<reports>/<time>-<scenario>/`."""
    if settings.out is not None:
        settings.out.mkdir(parents=True, exist_ok=True)
        return settings.out
    return new_run_dir(settings.reports, scenario, datetime.now())


def load_environment() -> LoadEnvironment:
    """Where the load came from: for the report, and for anyone repeating the run."""
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return LoadEnvironment(
        python=platform.python_version(),
        platform=platform.platform(),
        host=socket.gethostname(),
        cpus=os.cpu_count(),
        embload=__version__,
        packages=packages,
    )
