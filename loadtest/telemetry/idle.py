"""What a server embload started idles at, before any load: its RSS and its GPU memory, read
once, for summary.json's `startup` beside the bundled server's start-up times."""

from __future__ import annotations

import contextlib
import os
import time

import psutil

from loadtest.core.errors import GpuUnavailable
from loadtest.core.results import Startup
from loadtest.target.bundled import BundledServer
from loadtest.telemetry.nvml import NvmlReader, selected_devices


def startup(server: BundledServer) -> Startup:
    """Process start -> model loaded -> /health ready, in seconds, and the memory it idles at."""
    idle_rss: int | None = None
    with contextlib.suppress(psutil.Error):
        idle_rss = psutil.Process(server.pid).memory_info().rss
    idle_gpu: int | None = None
    why: str | None = None
    try:
        reader = NvmlReader(selected_devices(None, os.environ.get("CUDA_VISIBLE_DEVICES")))
    except GpuUnavailable as exc:
        why = exc.line
    else:
        samples = reader.read(time.time())
        reader.close()
        idle_gpu = sum(s.process_mem_bytes.get(server.pid, 0) for s in samples)
    loaded = server.model_loaded_at
    return Startup(
        command=server.command,
        model_loaded_s=loaded - server.started_at if loaded is not None else None,
        ready_s=server.ready_at - server.started_at,
        idle_rss_bytes=idle_rss,
        idle_gpu_mem_bytes=idle_gpu,
        gpu_unavailable=why,
    )
