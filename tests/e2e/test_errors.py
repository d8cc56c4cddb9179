"""Every error kind, produced by a real server that misbehaves on purpose, through real Locust."""

from __future__ import annotations

import itertools
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from tests.support.commands import ROOT
from tests.support.http import QuietHandler, embeddings_reply, serving
from tests.support.servers import BEHAVIOURS


def test_every_error_kind_is_recorded(misbehaving_server: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "scenarios/single.py"),
        "--headless",
        "-t",
        "5s",
        "--host",
        misbehaving_server,
        "--only-summary",
        "--embload-out",
        str(out),
        "--embload-timeout",
        "0.5",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]  # Locust's own exit code when requests failed
    summary = json.loads((out / "summary.json").read_text())
    lines = (out / "records.jsonl").read_text().splitlines()
    assert summary["requests"] == len(lines) > len(BEHAVIOURS)
    for _, kind in BEHAVIOURS:
        if kind is not None:
            assert summary["errors"][kind] > 0, (kind, summary["errors"], summary["error_samples"])
    assert summary["ok"] > 0
    assert summary["error_samples"]["oom"][0].startswith("HTTP 500: CUDA out of memory")
    records = [json.loads(line) for line in lines]
    timeouts = [r for r in records if r["error"] == "timeout"]
    assert all(0.45 < r["latency_s"] < 1.4 for r in timeouts)  # cut at the 0.5 s timeout


LOAD_SIDE = ["ok", "reset_mid_body", "ok", "partial_then_silence", "ok", "redirect"]


class _Breaking(QuietHandler):
    """What breaks on the way back: a reset halfway through the body, part of a body and then
    nothing, a redirect. Each request's behaviour is named by its first input's text, so each
    record can be checked against what its request met."""

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "breaking"}]}')

    def do_POST(self) -> None:
        body = embeddings_reply(self._body())
        with _Breaking.lock:
            behaviour = LOAD_SIDE[_Breaking.counter % len(LOAD_SIDE)]
            _Breaking.counter += 1
        if behaviour == "ok":
            self._send(200, body)
            return
        if behaviour == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:9/v2/embeddings")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) + 4000))
        self.end_headers()
        self.wfile.write(body[:20])
        self.wfile.flush()
        if behaviour == "partial_then_silence":
            time.sleep(1.0)  # past the client's 0.5 s timeout
        # RST rather than FIN: linger on, for no time
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    counter = 0
    lock = threading.Lock()


def test_resets_partial_bodies_and_redirects_are_classified_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    _Breaking.counter = 0
    out = tmp_path / "run"
    with serving(_Breaking) as host:
        cmd = [sys.executable, "-m", "loadtest.cli", "run", "--target", f"{host}/v1"]
        cmd += ["--scenario", "single", "--duration", "4s", "--timeout", "0.5", "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]  # some requests failed, none stopped it
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    kinds = Counter(r["error"] for r in records)
    assert kinds[None] >= 3 and len(records) >= 2 * len(LOAD_SIDE), kinds
    resets = [r for r in records if r["error"] == "connection"]
    silences = [r for r in records if r["error"] == "timeout"]
    redirects = [r for r in records if r["error"] == "invalid_response"]
    assert resets and silences and redirects, {r["error_message"] for r in records}
    assert set(kinds) == {None, "connection", "timeout", "invalid_response"}, kinds
    assert all(0.45 < r["latency_s"] < 1.0 for r in silences)  # cut at the timeout
    assert {r["status"] for r in redirects} == {307}
    assert redirects[0]["error_message"] == (
        "HTTP 307: (empty body) (redirects to http://127.0.0.1:9/v2/embeddings: embload does not "
        "follow redirects; give that URL as the target)"
    )
    # every request after one that broke went out on a connection of its own, and was answered
    ok_after = [b for a, b in itertools.pairwise(records) if a["error"] and b["error"] is None]
    assert ok_after, kinds
