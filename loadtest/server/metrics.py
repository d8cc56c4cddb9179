"""The bundled server's Prometheus metrics, served at `/metrics` (prometheus-client's format).

What a dashboard next to TEI's `te_*` or vLLM's `vllm:*` would show for this server: requests
and errors by kind, texts waiting in the queue, texts and padded tokens per forward pass, and
request latency, each as the usual counter, gauge or histogram. One registry per app, so tests
that build several apps in one process do not share counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_TOKEN_BUCKETS = (64, 256, 1024, 2048, 4096, 8192, 16384, 32768)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "embload_server_requests",
            "embeddings requests answered, by HTTP status",
            ["status"],
            registry=r,
        )
        self.errors = Counter(
            "embload_server_errors",
            "embeddings requests refused or failed, by error code",
            ["code"],
            registry=r,
        )
        self.queue = Gauge(
            "embload_server_queue_size", "texts waiting for a forward pass", registry=r
        )
        self.batch_size = Histogram(
            "embload_server_batch_size",
            "texts per forward pass",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.batch_tokens = Histogram(
            "embload_server_batch_tokens",
            "padded tokens per forward pass",
            buckets=_TOKEN_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "embload_server_request_duration_seconds",
            "arrival to reply, embeddings requests",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue.set_function(lambda: float(depth()))

    def forward_pass(self, texts: int, padded_tokens: int) -> None:
        self.batch_size.observe(texts)
        self.batch_tokens.observe(padded_tokens)

    def answered(self, arrived: float) -> float:
        """An embeddings request answered: counted, timed from `arrived` (perf_counter); its
        seconds from arrival to now."""
        total_s = time.perf_counter() - arrived
        self.requests.labels(status="200").inc()
        self.latency.observe(total_s)
        return total_s

    def refused(self, status: int, code: str | None) -> None:
        self.requests.labels(status=str(status)).inc()
        self.errors.labels(code=code or str(status)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
