"""What a server embload started idles at, before any load: its RSS and its GPU memory, read
once, for summary.json's `startup` beside its start-up times. A server is its process tree:
infinity-emb and vLLM hold their model in child processes, so the parent alone reads small.
"""

from __future__ import annotations

import contextlib
import os
import time

import psutil

from loadtest.core.errors import GpuUnavailable
from loadtest.core.results import Startup
from loadtest.target.launch import StartedServer
from loadtest.telemetry.nvml import NvmlReader, selected_devices


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants as they are now; psutil.Error when it is gone."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss(processes: list[psutil.Process]) -> int:
    """Their RSS summed, one that vanished meanwhile left out. Pages a fork shares with its
    parent count in both: an upper bound, as `ps` would add them up."""
    total = 0
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def startup(server: StartedServer) -> Startup:
    """Process start -> model loaded -> healthy, in seconds, and the memory it idles at."""
    idle_rss: int | None = None
    pids = {server.pid}
    with contextlib.suppress(psutil.Error):
        tree = process_tree(server.pid)
        pids = {p.pid for p in tree}
        idle_rss = tree_rss(tree)
    idle_gpu: int | None = None
    why: str | None = None
    try:
        reader = NvmlReader(selected_devices(None, os.environ.get("CUDA_VISIBLE_DEVICES")))
    except GpuUnavailable as exc:
        why = exc.line
    else:
        samples = reader.read(time.time())
        reader.close()
        idle_gpu = sum(s.process_mem_bytes.get(pid, 0) for s in samples for pid in pids)
    loaded = server.model_loaded_at
    return Startup(
        command=server.command,
        model_loaded_s=loaded - server.started_at if loaded is not None else None,
        ready_s=server.ready_at - server.started_at,
        idle_rss_bytes=idle_rss,
        idle_gpu_mem_bytes=idle_gpu,
        gpu_unavailable=why,
    )
