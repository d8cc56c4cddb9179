"""One test in one Locust process: what its users send, what they have recorded so far, and the
run directory it ends as. Free of Locust: hooks.py keeps the Recorder in the process's state
and calls it from Locust's events.

A worker's recorder only buffers records (and sampled vectors) for the master, which it sends
as WorkerBatch messages; the last one says how many rows the worker sent in all. A local or
master recorder owns the run directory: the records file, the telemetry sidecar and, at the
end, summary.json (analysis/summary.py), the run index and a push to a Pushgateway.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from loadtest.analysis.summary import RunEnd, write_summary
from loadtest.config.settings import LoadSettings
from loadtest.core.arrivals import ArrivalCount, LoadShape
from loadtest.core.columns import RecordColumns
from loadtest.core.dialects import SPECS
from loadtest.core.live import LiveFigures
from loadtest.core.payloads import Scenario, bucket_for, scenario_pools
from loadtest.core.record import RecordRow
from loadtest.core.replay import parse_warmup
from loadtest.core.results import RunSummary, SignalName, TraceFigures
from loadtest.core.thresholds import Threshold, parse_thresholds
from loadtest.core.trace import TextMaker, TraceRequest
from loadtest.core.types import Payload
from loadtest.data import corpus
from loadtest.loadgen.messages import WorkerBatch
from loadtest.loadgen.meta import run_meta
from loadtest.output.push import push_summary
from loadtest.store.files import (
    RECORDS,
    VECTORS,
    JsonlWriter,
    RecordWriter,
    complete_lines,
    vector_row,
)
from loadtest.store.history import history_path, index_run
from loadtest.store.traces import TraceInfo
from loadtest.target.codec import reply_vectors, request_headers
from loadtest.target.preflight import Preflight
from loadtest.telemetry.monitor import Monitor, MonitorConfig, metrics_url, start_monitor

_KEEP_EVERY = 10  # one good reply in ten has its vectors kept, so the sample spans the run


@dataclass
class Recorder:
    """What one test sends (the same for every user) and what it has recorded so far."""

    settings: LoadSettings
    scenario: Scenario
    preflight: Preflight  # the route, the model to send and its card
    pools: dict[str, tuple[Payload, ...]]
    worker: str  # "local", or "worker-N" of a distributed run
    headers: dict[str, str]  # of every request, the bearer token included
    thresholds: list[Threshold] = field(default_factory=list)  # --fail-on, parsed at the start
    started_at: float = field(default_factory=time.time)
    expected_dim: int | None = None  # set by the first good reply unless asked for
    buffer: list[RecordRow] = field(default_factory=list)
    next_user: int = 0
    peak_users: int = 0
    writer: RecordWriter | None = None
    run_dir: Path | None = None
    monitor: Monitor | None = None
    vectors: JsonlWriter | list[dict[str, str]] | None = None  # a file, or a worker's buffer
    good_replies: int = 0  # counted only while vectors are kept
    sent: int = 0  # rows a worker has sent the master
    live: LiveFigures | None = None  # for Locust's web UI, while a test runs there
    write_error: str | None = None  # why records stopped being written (the disk filled)
    stopping: bool = False  # the load was told to stop for it
    produced: int = 0  # records handed to the writer, written or not
    trace: TraceInfo | None = None  # the trace replayed, as checked before the load
    # whether a request sent then (Unix s) is warm-up; hooks.py sets the test's
    warmup_counter: Callable[[float], bool] = lambda _: False

    def __post_init__(self) -> None:
        # worked out once: the load path reads these on every request
        target = self.preflight.target
        self.model = self.preflight.model
        self.path = target.embeddings_path
        self.url = target.url  # as Locust's request event names it
        self.shape = SPECS[target.dialect].shape
        self.expected_dim = self.expected_dim or self.settings.dimensions
        self.trace_pools = self.pools

    def trace_batch(self, request: TraceRequest) -> list[Payload]:
        """A trace line's texts: its own, or made to its token lengths from the corpus (the
        same texts for a line whichever process sends it)."""
        category = request.category or "trace"
        texts = request.texts
        if texts is None:
            maker = TextMaker(self.trace_pools, self.settings.seed * 1_000_003 + request.line)
            if request.category not in self.trace_pools:  # a category this corpus lacks
                request = replace(request, category=None)
            texts = maker.for_request(request)
        return [Payload(t, category, bucket_for(len(t))) for t in texts]

    @property
    def inputs_per_request(self) -> int:
        return self.settings.batch or self.scenario.inputs_per_request

    def begin(self, run_dir: Path) -> None:
        """Open the records, start the sidecar; the load starts once it has idle readings."""
        s = self.settings
        self.run_dir = run_dir
        self.writer = RecordWriter(run_dir)
        if s.keep_vectors:
            self.vectors = JsonlWriter(run_dir / VECTORS)
        host = self.preflight.host
        self.monitor = start_monitor(
            MonitorConfig(
                run_dir=run_dir,
                interval_s=s.gpu_interval_s,
                gpu_index=s.gpu_index,
                gpu_agent=s.gpu_agent,
                server_pid=s.server_pid,
                host=host,
                health_path=s.health_path,
                metrics_url=metrics_url(s.server_metrics, host),
                loadgen_pid=os.getpid(),
            )
        )
        self.started_at = time.time()

    def begin_worker(self) -> None:
        if self.settings.keep_vectors:
            self.vectors = []

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

    def take(self, rows: list[RecordRow], vectors: list[dict[str, str]]) -> None:
        """A master: a worker's rows and sampled vectors, written as its own."""
        if rows and self.writer is not None:
            self.write_rows(rows)
        if vectors and isinstance(self.vectors, JsonlWriter):
            self._write_vectors(vectors)

    def batch(
        self, final: bool = False, arrivals: ArrivalCount | None = None, limit: int | None = None
    ) -> WorkerBatch:
        """A worker's records (the first `limit`) and vectors since the last batch, for the
        master; the final one with the count of every row sent and, in an open loop, of its
        arrivals."""
        rows = self.flush(None if final else limit)
        self.sent += len(rows)
        vectors: list[dict[str, str]] = []
        if isinstance(self.vectors, list):
            vectors, self.vectors = self.vectors, []
        return WorkerBatch(self.worker, rows, vectors, self.sent if final else None, arrivals)

    def load_shape(self, users: int | None) -> LoadShape:
        """Open (its plan; the users are the in-flight cap) or closed."""
        s = self.settings
        if self.trace is not None:
            span_s = self.trace.span_s / s.trace_speed
            offered = self.trace.lines / span_s if span_s > 0 else None
            return LoadShape("open", offered, "trace", None, users)
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
            pairs = zip(texts, reply_vectors(content, self.shape), strict=True)
            rows = [vector_row(t, v) for t, v in pairs]
            if isinstance(self.vectors, list):
                self.vectors.extend(rows)
            else:
                self._write_vectors(rows)

    def _write_vectors(self, rows: Iterable[dict[str, str]]) -> None:
        assert isinstance(self.vectors, JsonlWriter)
        try:
            self.vectors.write(rows)
        except OSError as exc:
            self.write_error = self.write_error or f"cannot write {VECTORS}: {exc.strerror}"

    def run_end(
        self,
        users: int | None,
        warnings: list[str],
        arrivals: ArrivalCount | None = None,
        interrupted: SignalName | None = None,
    ) -> RunEnd:
        """What the load side knows of the run now, beyond its files: at its end, or at a
        checkpoint of a long run."""
        assert self.run_dir is not None
        duration_s = time.time() - self.started_at
        s = self.settings
        warmup = parse_warmup(s.warmup)
        db = history_path(s.reports, s.history)
        users = self.peak_users or users
        meta = run_meta(
            s,
            self.preflight,
            scenario=self.scenario.name,
            users=users,
            inputs_per_request=self.inputs_per_request,
            started_at=self.started_at,
            warnings=warnings,
            interrupted=interrupted,
            write_error=self.write_error,
            history=None if db is None else str(db.resolve()),
        )
        end = RunEnd(
            meta=meta,
            duration_s=duration_s,
            load_start=self.started_at,
            load=self.load_shape(users),
            arrivals=arrivals,
            server_pids=(s.server_pid,) if s.server_pid else (),
            oom_threshold=s.oom_threshold,
            usd_per_hour=s.gpu_cost_per_hour,
            thresholds=tuple(self.thresholds),
            trace=None
            if self.trace is None
            else TraceFigures(
                path=self.trace.path,
                sha256=self.trace.sha256,
                lines=self.trace.lines,
                span_s=self.trace.span_s,
                speed=s.trace_speed,
                replayed=0,
            ),
            warmup=None if warmup.none else warmup.describe(),
            stability_min_span_s=s.stability_min_span_s,
        )
        return end

    def finish(
        self,
        users: int | None,
        warnings: list[str],
        arrivals: ArrivalCount | None = None,
        interrupted: SignalName | None = None,
    ) -> tuple[RunSummary, RecordColumns]:
        """Close the records, stop the sidecar, write summary.json from the files, index the
        run and push it; the summary and the records' columns, for the report.
        `interrupted`: the signal that stopped the test early."""
        assert self.writer is not None and self.run_dir is not None
        self.flush()
        for writer in (self.writer, self.vectors):
            if not isinstance(writer, JsonlWriter):
                continue
            try:
                writer.close()
            except OSError as exc:  # what was buffered had nowhere to go
                self.write_error = self.write_error or f"cannot write {writer.path}: {exc}"
        warnings = list(warnings)
        if self.write_error is not None:
            kept = complete_lines(self.run_dir / RECORDS)
            warnings.append(
                f"{self.write_error}: the load stopped there; {kept:,} records are kept, the "
                f"{max(0, self.produced - kept):,} after them are in no file"
            )
        if self.monitor is not None:
            self.monitor.stop()
        end = self.run_end(users, warnings, arrivals, interrupted)
        summary, columns = write_summary(self.run_dir, end)
        s = self.settings
        db = history_path(s.reports, s.history)
        if warning := index_run(db, self.run_dir, summary):  # the run's files are what count
            print(f"embload: warning: {warning}", file=sys.stderr)
        if s.push_gateway:
            try:
                push_summary(s.push_gateway, summary)
            except OSError as exc:
                print(f"embload: warning: not pushed to {s.push_gateway}: {exc}", file=sys.stderr)
        return summary, columns


def new_recorder(
    settings: LoadSettings,
    scenario: Scenario,
    found: Preflight,
    worker: str,
    trace: TraceInfo | None = None,
) -> Recorder:
    """A test's recorder: the scenario's pools drawn from the corpus the settings name, the
    request headers, the thresholds (parsed before any load: ThresholdError is one line), and
    the trace as hooks.py checked it, line by line (a worker's none: its master checked it)."""
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    parse_warmup(settings.warmup)
    recorder = Recorder(
        settings=settings,
        scenario=scenario,
        preflight=found,
        pools=scenario_pools(scenario, corpus(settings.corpus), user_corpus=bool(settings.corpus)),
        worker=worker,
        headers=request_headers(api_key, settings.headers),
        thresholds=parse_thresholds(settings.fail_on) if settings.fail_on else [],
        trace=trace,
    )
    if settings.trace is not None:  # a line of tokens takes texts of its category, any length
        recorder.trace_pools = scenario_pools(scenario, corpus(settings.corpus), user_corpus=True)
    return recorder
