"""--push-gateway: a run's summary reaches a Pushgateway, parsed as Prometheus reads it."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import ClassVar

from prometheus_client.parser import text_string_to_metric_families

from tests.support.commands import EMBLOAD, clean_env
from tests.support.http import Counting, QuietHandler, serving

RUN = ["--scenario", "single", "--duration", "2s"]


class Gateway(QuietHandler):
    """What a Pushgateway takes: PUT /metrics/job/<job>/<label>/<value>... with the metrics."""

    pushes: ClassVar[list[tuple[str, str, str]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.pushes.append((self.command, self.path, body))
        self._send(200, b"")


def _run(host: str, out: Path, gateway: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *EMBLOAD,
            "run",
            "--target",
            f"{host}/v1",
            *RUN,
            "--out",
            str(out),
            "--push-gateway",
            gateway,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=out.parent,
        env=clean_env(),
    )


def _label(value: str) -> str:
    """A grouping-key value as prometheus-client puts it in the path (base64 when it has /)."""
    return base64.urlsafe_b64encode(value.encode()).decode()


def test_a_run_pushes_its_summary(tmp_path: Path) -> None:
    Gateway.pushes = []
    out = tmp_path / "run"
    with serving(Counting) as host, serving(Gateway) as gateway:
        proc = _run(host, out, gateway)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    ((method, path, body),) = Gateway.pushes
    assert method == "PUT"
    target = _label(f"{host}/v1")
    assert path == f"/metrics/job/embload/scenario/single/target@base64/{target}"
    metrics = {
        (s.name, s.labels.get("quantile")): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert metrics[("embload_requests", None)] == summary["requests"] > 0
    assert metrics[("embload_qps", None)] == summary["qps"]
    assert metrics[("embload_error_rate", None)] == summary["error_rate"]
    p99_s = metrics[("embload_latency_seconds", "0.99")]
    assert abs(p99_s * 1000 - summary["latency_ms"]["p99"]) < 1e-9


def test_a_gateway_that_is_not_there_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with serving(Counting) as host:
        proc = _run(host, out, "http://127.0.0.1:9")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = (out / "locust.log").read_text()
    assert "embload: warning: not pushed to http://127.0.0.1:9" in log
    assert (out / "summary.json").exists()
