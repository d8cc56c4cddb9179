"""One test in one load-generator process: what it sends, what it has recorded so far, and the
run directory it ends as. Free of Locust, so that locust_user.py holds only the Locust wiring.

A worker's session only buffers records for the master; a local or master session also owns
the run directory: the record writer, the telemetry sidecar and, at the end, summary.json.
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
from typing import Any

from loadtest import __version__
from loadtest.client import Target
from loadtest.core.payloads import Scenario, builtin_corpus, scenario_pools
from loadtest.core.types import Payload, RecordRow
from loadtest.monitor import Monitor, MonitorConfig, start_monitor
from loadtest.store import (
    VECTORS,
    JsonlWriter,
    RecordWriter,
    new_run_dir,
    read_corpus,
    summarize_run_dir,
    write_summary,
)

# --embload-<name> flags (and EMBLOAD_<NAME> variables): (name, type, default, help, extra).
OPTIONS: list[tuple[str, type, Any, str, dict[str, Any]]] = [
    ("model", str, "", "model name to send (default: the first one /v1/models lists)", {}),
    ("out", str, "", "run directory to write (default: reports/<time>-<scenario>/)", {}),
    ("reports", str, "reports", "where new run directories go without --embload-out", {}),
    ("corpus", str, "", "texts to send instead of the built-in corpus (.txt or .jsonl)", {}),
    ("seed", int, 0, "seed for payload sampling", {}),
    # base64 is what the openai SDK asks for unless told otherwise, so servers do the work
    # they do for most production clients; the reply is a third of float JSON's size.
    (
        "encoding",
        str,
        "base64",
        "encoding_format: base64 (as the openai SDK) or float",
        {"choices": ["base64", "float"]},
    ),
    ("dimensions", int, 0, "dimensions to ask for (0: the model's own)", {}),
    ("timeout", float, 60.0, "seconds before a request counts as a timeout", {}),
    (
        "api-key",
        str,
        "",
        "bearer token for the endpoint (never written anywhere)",
        {"is_secret": True},
    ),
    ("gpu-interval", float, 0.1, "seconds between GPU and server-process samples", {}),
    ("gpu-index", str, "", "GPUs to sample: indices or UUIDs (default: CUDA_VISIBLE_DEVICES)", {}),
    ("gpu-agent", str, "", "URL of an `embload gpu-agent` next to a remote server", {}),
    ("server-pid", int, 0, "PID of a local server: its RSS and CPU are sampled", {}),
    ("oom-threshold", float, 0.95, "GPU memory fraction that counts as the ceiling", {}),
    ("health-path", str, "/health", "server route polled for crashes and restarts ('' off)", {}),
    ("keep-vectors", int, 0, "keep the vectors of this many replies for the quality probe", {}),
    ("instruction", str, "", "send texts as 'Instruct: {this}\\nQuery:{text}' (Qwen3 queries)", {}),
    (
        "headers",
        str,
        "",
        "extra HTTP headers as a JSON object (never written anywhere)",
        {"is_secret": True},
    ),
]


@dataclass
class Session:
    scenario: Scenario
    target: Target
    model: str | None
    server_model: dict[str, Any] | None  # the model's card from /v1/models: weights, device...
    headers: dict[str, str]
    instruction: str | None
    encoding: str
    dimensions: int | None
    seed: int
    corpus: str  # the user's corpus file, or "builtin"
    pools: dict[str, tuple[Payload, ...]]
    worker: str
    started_at: float = field(default_factory=time.time)
    expected_dim: int | None = None  # set by the first good reply unless asked for
    buffer: list[RecordRow] = field(default_factory=list)
    next_user: int = 0
    peak_users: int = 0
    writer: RecordWriter | None = None
    run_dir: Path | None = None
    monitor: Monitor | None = None
    vectors: JsonlWriter | None = None  # sampled reply vectors, when asked for
    keep_vectors: int = 0  # how many replies' vectors to keep (every 10th good one)
    good_replies: int = 0  # counted only while sampling vectors
    flusher: Any = None  # the greenlet that empties `buffer`, owned by locust_user

    @property
    def path(self) -> str:
        return self.target.embeddings_path

    @property
    def url(self) -> str:
        return self.target.host + self.target.embeddings_path


def new_session(
    *,
    scenario: Scenario,
    target: Target,
    model: str | None,
    server_model: dict[str, Any] | None,
    api_key: str | None,
    instruction: str | None = None,
    extra_headers: dict[str, str] | None = None,
    encoding: str,
    dimensions: int | None,
    seed: int,
    corpus: str | None,
    worker: str,
) -> Session:
    items = read_corpus(Path(corpus)) if corpus else builtin_corpus()
    return Session(
        scenario=scenario,
        target=target,
        model=model,
        server_model=server_model,
        headers={
            **(extra_headers or {}),
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
        },
        instruction=instruction,
        encoding=encoding,
        dimensions=dimensions,
        seed=seed,
        corpus=corpus or "builtin",
        pools=scenario_pools(scenario, items, user_corpus=bool(corpus)),
        worker=worker,
        expected_dim=dimensions,
    )


_PACKAGES = ("locust", "geventhttpclient", "numpy", "pysimdjson", "pybase64", "nvidia-ml-py")


def environment() -> dict[str, Any]:
    """Where the load came from: for the report, and for anyone repeating the run."""
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "embload": __version__,
        "packages": packages,
    }


def run_dir_for(out: str, reports: str, scenario: str) -> Path:
    """`out` as given, or a fresh `reports/<time>-<scenario>/`."""
    if out:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return new_run_dir(Path(reports), scenario, datetime.now())


def begin_recording(session: Session, monitor: MonitorConfig) -> None:
    """Open the records file and start the sidecar; the load starts once it has idle readings."""
    session.run_dir = monitor.run_dir
    session.writer = RecordWriter(monitor.run_dir)
    if session.keep_vectors:
        session.vectors = JsonlWriter(monitor.run_dir / VECTORS)
    session.monitor = start_monitor(monitor)
    session.started_at = time.time()


def finish_recording(
    session: Session, *, users: int | None, server_pid: int | None, oom_threshold: float
) -> dict[str, Any]:
    """Close the records, stop the sidecar, write summary.json from the files; the summary."""
    assert session.writer is not None and session.run_dir is not None
    session.writer.close()
    if session.vectors is not None:
        session.vectors.close()
    duration_s = time.time() - session.started_at
    if session.monitor is not None:
        session.monitor.stop()
    meta = {
        "scenario": session.scenario.name,
        "target": session.target.base_url,
        "model": session.model,
        "users": session.peak_users or users,
        "inputs_per_request": session.scenario.inputs_per_request,
        "encoding_format": session.encoding,
        "dimensions": session.dimensions,
        "seed": session.seed,
        "corpus": session.corpus,
        "instruction": session.instruction,
        # names only: header values may be credentials
        "extra_headers": sorted(set(session.headers) - {"Content-Type", "Authorization"}),
        "started_at": datetime.fromtimestamp(session.started_at).astimezone().isoformat(),
        "started_at_unix": session.started_at,
        "embload_version": __version__,
        "server_model": session.server_model,
        "environment": environment(),
    }
    summary = summarize_run_dir(
        session.run_dir,
        meta=meta,
        duration_s=duration_s,
        load_start=session.started_at,
        server_pid=server_pid,
        oom_threshold=oom_threshold,
    )
    write_summary(session.run_dir, summary)
    return summary
