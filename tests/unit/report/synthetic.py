"""A run directory made of known data, written through the real writers and summarizer.

Used by the report's tests (small) and by bench/report.py (a million requests): a 60 s run
with a GPU that climbs to 96% of its memory, a burst of OOM replies, and a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from loadtest.core.types import ErrorKind, GpuSample
from loadtest.store import (
    GPU,
    TELEMETRY,
    JsonlWriter,
    RecordWriter,
    gpu_sample_to_json,
    summarize_run_dir,
    write_json,
    write_summary,
)

T0 = 1_800_000_000.0
DURATION_S = 60.0
GIB = 1 << 30


def write_run(
    run_dir: Path, n: int, *, seed: int = 0, random_weights: bool = True
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = T0 + np.sort(rng.uniform(0, DURATION_S, n))
    latency = rng.lognormal(np.log(0.05), 0.5, n)
    chars = rng.integers(5, 1100, n)
    kinds: list[ErrorKind | None] = [None] * n
    oom = (start > T0 + 30) & (start < T0 + 31) & (rng.uniform(size=n) < 0.5)
    crash = start > T0 + 55
    for i in np.flatnonzero(oom):
        kinds[i] = ErrorKind.OOM
    for i in np.flatnonzero(crash):
        kinds[i] = ErrorKind.CONNECTION
    categories = np.array(["zh", "en", "code", "mixed"])[rng.integers(0, 4, n)]
    writer = RecordWriter(run_dir)
    rows = []
    for i in range(n):
        kind = kinds[i]
        status = 0 if kind is ErrorKind.CONNECTION else 503 if kind is ErrorKind.OOM else 200
        message = (
            {
                ErrorKind.OOM: "HTTP 503: out of memory: CUDA out of memory",
                ErrorKind.CONNECTION: "ConnectionRefusedError: [Errno 111] Connection refused",
            }.get(kind)
            if kind
            else None
        )
        bucket = "short" if chars[i] <= 32 else "medium" if chars[i] <= 256 else "long"
        rows.append(
            (
                float(start[i]),
                float(latency[i]),
                status,
                kind,
                message,
                1,
                int(chars[i]),
                None if kind else int(chars[i] // 3),
                str(categories[i]),
                bucket,
                i % 64,
                "local",
            )
        )
    writer.write(rows)
    writer.close()
    gpu = JsonlWriter(run_dir / GPU)
    for t in np.arange(-1.0, DURATION_S, 0.1):
        used = 10 + 60 * min(max(t, 0) / 28, 1) + (7 if 28 <= t <= 31 else 0)  # GiB, 96% at 28-31 s
        sample = GpuSample(
            T0 + float(t),
            0,
            "NVIDIA H100 80GB HBM3",
            int(used * GIB),
            80 * GIB,
            0.0 if t < 0 else 95.0,
            40.0,
            600.0,
            60.0,
            1980.0,
            {4242: int((used - 1) * GIB)},
        )
        gpu.write([gpu_sample_to_json(sample)])
    gpu.close()
    write_json(run_dir / TELEMETRY, {"gpu": "nvml", "devices": ["NVIDIA H100 80GB HBM3"]})
    meta = {
        "scenario": "peak",
        "target": "http://user:hunter2@gpu-box:30000/v1",
        "model": "Qwen3-Embedding-0.6B",
        "users": 64,
        "inputs_per_request": 1,
        "encoding_format": "base64",
        "dimensions": None,
        "seed": seed,
        "corpus": "builtin",
        "started_at": "2027-01-15T08:00:00+00:00",
        "started_at_unix": T0,
        "embload_version": "test",
        "server_model": {
            "id": "Qwen3-Embedding-0.6B",
            "weights": "random" if random_weights else "pretrained",
        },
    }
    summary = summarize_run_dir(
        run_dir,
        meta=meta,
        duration_s=DURATION_S,
        load_start=T0,
        server_pid=4242,
        oom_threshold=0.95,
    )
    write_summary(run_dir, summary)
    return summary
