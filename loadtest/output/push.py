"""`--push-gateway URL`: a run's summary pushed to a Prometheus Pushgateway when it is written,
so Grafana shows embload's figures beside the server's own dashboards.

One push per run (job `embload`, grouped by target and scenario, so the next run of the same
pair replaces it), in Prometheus' text format through prometheus-client. The figures are the
summary's, in base units: seconds, requests per second, fractions. A push that fails is one
warning: the run's files are what count.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from loadtest.core.results import RunSummary

JOB = "embload"
_QUANTILES = (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"), ("0.999", "p999"))


def summary_registry(summary: RunSummary) -> CollectorRegistry:
    """The summary's headline figures as gauges labelled with the model."""
    registry = CollectorRegistry()
    model = summary.model or ""

    def gauge(name: str, doc: str, value: float | None, **labels: str) -> None:
        if value is None:
            return
        names = ["model", *labels]
        metric = Gauge(name, doc, names, registry=registry)
        metric.labels(model=model, **labels).set(value)

    gauge("embload_requests", "requests recorded, successful or not", summary.requests)
    gauge("embload_ok_requests", "successful requests", summary.ok)
    gauge("embload_error_rate", "failed requests over all (0..1)", summary.error_rate)
    gauge("embload_qps", "requests completed per second of load", summary.qps)
    gauge("embload_inputs_per_second", "texts embedded per second", summary.inputs_per_s)
    gauge("embload_tokens_per_second", "prompt tokens per second", summary.tokens_per_s)
    gauge("embload_duration_seconds", "the load's wall-clock duration", summary.duration_s)
    gauge("embload_started_at_seconds", "when the load started, Unix time", summary.started_at_unix)
    latency = Gauge(
        "embload_latency_seconds",
        "latency of the successful requests, exact percentiles",
        ["model", "quantile"],
        registry=registry,
    )
    for quantile, field in _QUANTILES:
        ms = getattr(summary.latency_ms, field)
        if ms is not None:
            latency.labels(model=model, quantile=quantile).set(ms / 1000)
    return registry


def push_summary(gateway: str, summary: RunSummary, timeout_s: float = 5.0) -> None:
    """OSError (URLError is one) when the gateway cannot be reached or refuses."""
    push_to_gateway(
        gateway,
        job=JOB,
        registry=summary_registry(summary),
        grouping_key={"target": summary.target, "scenario": summary.scenario},
        timeout=timeout_s,
    )
