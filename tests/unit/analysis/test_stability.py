"""Which series each verdict is fitted on: the server's process tree when its PID is known, its
/metrics when it is remote, embload's own from loadgen.jsonl; and where the fits start."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loadtest.analysis.stability import RSS_METRIC, Span, stability
from loadtest.core.columns import RecordColumns
from loadtest.core.telemetry import Telemetry
from loadtest.core.types import ProcessSample
from loadtest.store.files import LOADGEN, SERVER_METRICS, JsonlWriter, write_samples
from tests.support.columns import columns

T0 = 1_800_000_000.0
MIB = 1 << 20


def _records(seconds: int) -> RecordColumns:
    """Twenty successful requests a second for `seconds`."""
    start = T0 + np.arange(0, seconds, 0.05)
    return columns(start, np.full(start.size, 0.01))


def test_a_remote_servers_rss_comes_from_its_metrics_and_a_leak_there_is_found(
    tmp_path: Path,
) -> None:
    metrics = JsonlWriter(tmp_path / SERVER_METRICS)
    for i in range(900):  # a scrape a second for 15 minutes, 40 MiB/h over a 300 MiB base
        rss = 300 * MIB + 40 * MIB * i / 3600 + (i % 7) * 64 * 1024
        metrics.write(
            [{"time": T0 + i, "name": RSS_METRIC, "labels": {}, "value": rss},
             {"time": T0 + i, "name": "other_gauge", "labels": {}, "value": 1e12}]
        )  # fmt: skip
    metrics.close()
    own = JsonlWriter(tmp_path / LOADGEN)
    write_samples(own, [ProcessSample(T0 + i, 7, 90 * MIB, 20.0) for i in range(900)])
    own.close()
    found = stability(
        tmp_path, Telemetry(oom_threshold=0.95), _records(900), Span(T0, 900.0, T0 + 30, 600.0)
    )
    server = found.server_rss
    assert server is not None and RSS_METRIC in server.source
    assert server.verdict == "leak_suspected", server.words
    assert server.per_hour_bytes is not None
    assert abs(server.per_hour_bytes / MIB - 40) < 4
    assert server.start_s >= T0 + 30  # after the warm-up
    embload = found.embload_rss
    assert embload is not None and embload.verdict == "no_growth", embload.words
    assert found.gpu_memory is None  # no GPU sampled: no series, no verdict


def test_a_local_servers_tree_is_fitted_and_without_a_warmup_the_first_tenth_is_left_out(
    tmp_path: Path,
) -> None:
    tree = [ProcessSample(T0 + i * 0.5, 4242, 500 * MIB, 50.0) for i in range(2400)]
    telemetry = Telemetry(oom_threshold=0.95, process=tree)
    found = stability(tmp_path, telemetry, _records(1200), Span(T0, 1200.0, None, 600.0))
    server = found.server_rss
    assert server is not None and "4242" in server.source
    assert server.verdict == "no_growth", server.words
    assert server.start_s >= T0 + 60  # a tenth of 20 minutes is two; at most one is left out
    assert found.warmup_end_s == T0 + 60
    assert found.embload_rss is None  # no loadgen.jsonl: not sampled
