"""`embload gpu-agent`: a machine's GPU readings served over HTTP, for a run whose server is on
another machine (`embload run --gpu-agent URL`). Its server (`GpuAgent`), its client
(`AgentReader`) and its wire format (each sample's JSON form, core/types.to_json) are here.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from loadtest.core.errors import GpuUnavailable, UsageError
from loadtest.core.types import GpuSample, from_json, to_json
from loadtest.telemetry.nvml import NvmlReader, selected_devices

_AGENT_KEEP_S = 600.0  # how far back the agent can answer
_AGENT_LOOKBACK_S = 5.0  # the agent's readings just before the test: the idle baseline


class _Recent:
    """The agent's last `_AGENT_KEEP_S` of samples, as JSON-ready dicts, shared by threads."""

    def __init__(self, interval_s: float) -> None:
        self._lock = threading.Lock()
        self._rows: deque[dict[str, Any]] = deque(maxlen=int(_AGENT_KEEP_S / interval_s) * 8)

    def add(self, samples: list[GpuSample]) -> None:
        with self._lock:
            self._rows.extend(to_json(s) for s in samples)

    def since(self, t: float) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._rows if r["time"] > t]


class GpuAgent:
    """`embload gpu-agent`: reads the GPUs every `interval_s` and serves the readings.

    `GET /samples?since=T` answers {"now": T', "samples": [...]} with the readings taken after
    wall-clock time T; `GET /health` answers the devices it reads.
    """

    def __init__(self, reader: NvmlReader, host: str, port: int, interval_s: float) -> None:
        self._reader, self._interval_s = reader, interval_s
        self._recent = _Recent(interval_s)
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._threads = [
            threading.Thread(target=self._sample_loop, name="gpu-sampler", daemon=True),
            threading.Thread(target=self._server.serve_forever, name="gpu-agent", daemon=True),
        ]

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait(self) -> None:
        """Until stop(), or Ctrl-C in the foreground."""
        while not self._stop.wait(0.5):
            pass

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _sample_loop(self) -> None:
        while not self._stop.is_set():
            self._recent.add(self._reader.read(time.time()))
            self._stop.wait(self._interval_s)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recent, names = self._recent, self._reader.names

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                url = urlsplit(self.path)
                if url.path == "/health":
                    self._send(200, {"status": "ok", "devices": names})
                elif url.path == "/samples":
                    try:
                        since = float(parse_qs(url.query).get("since", ["0"])[0])
                    except ValueError:
                        self._send(400, {"error": "since must be a Unix time in seconds"})
                        return
                    self._send(200, {"now": time.time(), "samples": recent.since(since)})
                else:
                    self._send(404, {"error": "GET /samples?since=T or /health"})

            def _send(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: a line per poll would drown the agent's own output."""

        return Handler


class AgentReader:
    """Readings from a remote `embload gpu-agent`, fetched over HTTP: no GPU library here."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._since = time.time() - _AGENT_LOOKBACK_S
        try:
            health = httpx.get(self._url + "/health", timeout=5.0).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GpuUnavailable(f"no gpu-agent answers at {self._url} ({exc})") from None
        self.names = [str(n) for n in health.get("devices", [])]

    def read(self) -> list[GpuSample]:
        """The readings taken since the last call."""
        try:
            doc = httpx.get(self._url + "/samples", params={"since": self._since}, timeout=5.0)
            samples = [from_json(GpuSample, row) for row in doc.json()["samples"]]
        except (httpx.HTTPError, ValueError, KeyError):
            return []  # a missed poll; the next one asks from the same point
        if samples:
            self._since = max(s.time for s in samples)
        return samples


def serve_agent(
    host: str, port: int, interval_s: float, gpu_index: str | None, ready: Callable[[str], None]
) -> None:
    """Read this machine's GPUs and serve them until Ctrl-C; `ready` gets the line to show."""
    try:
        reader = NvmlReader(selected_devices(gpu_index, os.environ.get("CUDA_VISIBLE_DEVICES")))
    except GpuUnavailable as exc:
        raise exc.prefixed("no GPU to serve: ") from None
    try:
        agent = GpuAgent(reader, host, port, interval_s)
    except OSError as exc:
        reader.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    ready(
        f"embload gpu-agent: {', '.join(reader.names)} every {interval_s:g} s on "
        f"http://{host}:{agent.port} (GET /samples?since=T)"
    )
    agent.start()
    try:
        agent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
        reader.close()
