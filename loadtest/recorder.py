"""One test in one load-generator process: what it sends, what it has recorded so far, and the
run directory it ends as. Free of Locust: locust_user.py holds the Recorder on Locust's
Environment and calls it from Locust's events.

A worker's recorder only buffers records for the master; a local or master recorder also owns
the run directory: the records file, the telemetry sidecar and, at the end, summary.json.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from loadtest import __version__
from loadtest.client import Target, reply_vectors, request_headers
from loadtest.core.payloads import Scenario, scenario_pools
from loadtest.core.results import LoadEnvironment, ModelCard, RunSummary
from loadtest.core.stats import summarize
from loadtest.core.types import Payload, RecordRow
from loadtest.data import builtin_corpus, read_corpus
from loadtest.monitor import Monitor, MonitorConfig, start_monitor
from loadtest.settings import LoadSettings
from loadtest.store import (
    SUMMARY,
    VECTORS,
    JsonlWriter,
    RecordWriter,
    new_run_dir,
    read_records,
    read_telemetry,
    vector_row,
    write_json,
)

_KEEP_EVERY = 10  # one good reply in ten has its vectors kept, so the sample spans the run
_PACKAGES = ("locust", "geventhttpclient", "numpy", "pysimdjson", "pybase64", "nvidia-ml-py")


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
    vectors: JsonlWriter | None = None
    good_replies: int = 0  # counted only while vectors are kept

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
            )
        )
        self.started_at = time.time()

    def flush(self) -> list[RecordRow]:
        """The records buffered since the last flush, written when this process owns the run."""
        batch, self.buffer = self.buffer, []
        if batch and self.writer is not None:
            self.writer.write_rows(batch)
        return batch

    def keep_vectors(self, texts: list[str], content: bytes) -> None:
        """Now and then, the vectors of a good reply with their texts, for the probe."""
        if self.vectors is None:
            return
        self.good_replies += 1
        n = self.good_replies
        if n % _KEEP_EVERY == 0 and n // _KEEP_EVERY <= self.settings.keep_vectors:
            pairs = zip(texts, reply_vectors(content), strict=True)
            self.vectors.write(vector_row(t, v) for t, v in pairs)

    def finish(self, users: int | None) -> RunSummary:
        """Close the records, stop the sidecar, write summary.json from the files; the summary."""
        assert self.writer is not None and self.run_dir is not None
        self.flush()
        self.writer.close()
        if self.vectors is not None:
            self.vectors.close()
        duration_s = time.time() - self.started_at
        if self.monitor is not None:
            self.monitor.stop()
        s = self.settings
        return write_summary(
            self.run_dir,
            meta=self._meta(self.peak_users or users),
            duration_s=duration_s,
            load_start=self.started_at,
            server_pids=[s.server_pid] if s.server_pid else [],
            oom_threshold=s.oom_threshold,
        )

    def _meta(self, users: int | None) -> dict[str, object]:
        s = self.settings
        return {
            "scenario": self.scenario.name,
            "target": self.target.base_url,
            "model": self.model,
            "users": users,
            "inputs_per_request": self.scenario.inputs_per_request,
            "encoding_format": s.encoding_format,
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


def write_summary(
    run_dir: Path,
    *,
    meta: dict[str, object],
    duration_s: float,
    load_start: float,
    server_pids: list[int],
    oom_threshold: float,
) -> RunSummary:
    """summary.json from the run directory's files (records and telemetry) and `meta`."""
    summary = summarize(
        read_records(run_dir),
        read_telemetry(run_dir, server_pids, oom_threshold),
        meta=meta,
        duration_s=duration_s,
        load_start=load_start,
    )
    write_json(run_dir / SUMMARY, summary)
    return summary


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
        url=target.host + target.embeddings_path,
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
