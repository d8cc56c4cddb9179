"""A run directory made of known data, written through the real writers and summarizer.

Used by the report's tests (small) and by bench/report.py (a million requests): a 60 s run
with a GPU that climbs to 96% of its memory, a burst of OOM replies, and a crash.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loadtest.analysis.summary import RunEnd, write_summary
from loadtest.core.arrivals import LoadShape
from loadtest.core.payloads import bucket_for
from loadtest.core.record import NO_CLOCK, RecordRow
from loadtest.core.results import RunMeta, RunSummary
from loadtest.core.types import ErrorKind, GpuSample
from loadtest.loadgen.meta import load_environment
from loadtest.store.files import (
    GPU,
    TELEMETRY,
    JsonlWriter,
    RecordWriter,
    write_json,
    write_samples,
)

T0 = 1_800_000_000.0
DURATION_S = 60.0
GIB = 1 << 30
_CHUNK = 100_000
MESSAGES = {
    ErrorKind.OOM: "HTTP 503: out of memory: CUDA out of memory",
    ErrorKind.CONNECTION: "ConnectionRefusedError: [Errno 111] Connection refused",
}


def write_run(
    run_dir: Path, n: int, *, seed: int = 0, random_weights: bool = True, slower: float = 1.0
) -> RunSummary:
    """`n` requests over 60 s; `slower` multiplies every latency (a server that is worse)."""
    write_files(run_dir, n, seed=seed, slower=slower)
    return summarize_run(run_dir, seed=seed, random_weights=random_weights)


def write_files(
    run_dir: Path, n: int, *, seed: int = 0, slower: float = 1.0, timed: bool = False
) -> None:
    """The run's records and telemetry, as a run leaves them before its summary; the records
    a chunk at a time, so ten million of them fit in memory. `timed`: an open loop's send lag
    and the server's clock (TEI's headers) on every reply, the widest records there are."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = T0 + np.sort(rng.uniform(0, DURATION_S, n))
    latency = rng.lognormal(np.log(0.05), 0.5, n) * slower
    chars = rng.integers(5, 1100, n)
    oom = (start > T0 + 30) & (start < T0 + 31) & (rng.uniform(size=n) < 0.5)
    refused = start > T0 + 55
    categories = np.array(["zh", "en", "code", "mixed"])[rng.integers(0, 4, n)]
    lag = rng.exponential(0.0005, n) if timed else None  # drawn last: the rest stays the same
    writer = RecordWriter(run_dir)
    for at in range(0, n, _CHUNK):
        rows = []
        for i in range(at, min(at + _CHUNK, n)):
            kind = ErrorKind.CONNECTION if refused[i] else ErrorKind.OOM if oom[i] else None
            status = 0 if kind is ErrorKind.CONNECTION else 503 if kind is ErrorKind.OOM else 200
            tokens = None if kind else int(chars[i] // 3)
            rows.append(
                RecordRow(
                    float(start[i]),
                    float(latency[i]),
                    status,
                    kind,
                    MESSAGES.get(kind) if kind else None,
                    1,
                    int(chars[i]),
                    tokens,
                    str(categories[i]),
                    bucket_for(int(chars[i])),
                    i % 64,
                    "local",
                    None if lag is None else float(lag[i]),
                    *(NO_CLOCK if lag is None or status == 0 else _clock(float(latency[i]))),
                )
            )
        writer.write_rows(rows)
    writer.close()
    gpu = JsonlWriter(run_dir / GPU)
    for t in np.arange(-1.0, DURATION_S, 0.1):
        used = 10 + 60 * min(max(t, 0) / 28, 1) + (7 if 28 <= t <= 31 else 0)  # GiB, 96% at 28-31 s
        util = 0.0 if t < 0 else 95.0
        name = "NVIDIA H100 80GB HBM3"
        sample = GpuSample(
            T0 + float(t), 0, name, int(used * GIB), 80 * GIB, util, 40.0, 600.0, 60.0, 1980.0,
            {4242: int((used - 1) * GIB)},
        )  # fmt: skip
        write_samples(gpu, [sample])
    gpu.close()
    write_json(run_dir / TELEMETRY, {"gpu": "nvml", "devices": ["NVIDIA H100 80GB HBM3"]})


def _clock(latency_s: float) -> tuple[float, float, float, float]:
    """Queue, tokenization, inference and total, as shares of the latency."""
    return (0.2 * latency_s, 0.05 * latency_s, 0.6 * latency_s, 0.9 * latency_s)


def summarize_run(run_dir: Path, *, seed: int = 0, random_weights: bool = True) -> RunSummary:
    """summary.json as a run's end writes it, from the files `write_files` left."""
    return write_summary(run_dir, run_end(seed=seed, random_weights=random_weights))[0]


def run_end(*, seed: int = 0, random_weights: bool = True) -> RunEnd:
    """What the load side of the synthetic run knew at its end."""
    meta = RunMeta.model_validate(
        {
            "scenario": "peak",
            "target": "http://user:hunter2@gpu-box:30000/v1",
            "model": "Qwen3-Embedding-0.6B",
            "users": 64,
            "inputs_per_request": 1,
            "encoding_format": "base64",
            "dimensions": None,
            "seed": seed,
            "corpus": "builtin",
            "instruction": None,
            "extra_headers": ["X-Tenant"],
            "started_at": "2027-01-15T08:00:00+00:00",
            "started_at_unix": T0,
            "embload_version": "test",
            "server_model": {
                "id": "Qwen3-Embedding-0.6B",
                "weights": "random" if random_weights else "pretrained",
                "max_input_tokens": 8192,
                "truncate": False,
            },
            "environment": load_environment(),
        }
    )
    return RunEnd(
        meta=meta,
        duration_s=DURATION_S,
        load_start=T0,
        load=LoadShape("closed"),
        server_pids=(4242,),
        oom_threshold=0.95,
    )
