"""`embload serve --model qwen --random-weights`: the real architecture and tokenizer, offline,
saying everywhere that its weights are random."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loadtest.data import probe_pairs
from loadtest.driver.probe import probe
from loadtest.target.client import EmbeddingsClient
from loadtest.target.url import parse_target
from tests.support.servers import bundled_server


@pytest.mark.slow
def test_qwen_with_random_weights_says_so(tmp_path: Path) -> None:
    with bundled_server(tmp_path / "log", "--model", "qwen", "--random-weights") as (_, url):
        host = url.removesuffix("/v1")
        health = httpx.get(host + "/health").json()
        (card,) = httpx.get(url + "/models").json()["data"]
        query = httpx.post(
            url + "/embeddings",
            json={
                "input": ["什么是向量检索?"],
                "instruction": "Retrieve passages",
                "dimensions": 32,
            },
            timeout=60,
        )
        document = httpx.post(url + "/embeddings", json={"input": "检索增强生成。"}, timeout=60)
        too_small = httpx.post(url + "/embeddings", json={"input": "x", "dimensions": 16})
        # Over the 8192-token context: refused before any compute, as sglang and vLLM do.
        too_long = httpx.post(url + "/embeddings", json={"input": "向量 " * 9000}, timeout=120)
        with EmbeddingsClient(parse_target(url)) as client:
            probed = probe(client, None, probe_pairs())
    assert health["status"] == "healthy" and health["weights"] == "random"
    assert card["id"] == "Qwen3-Embedding-0.6B" and card["weights"] == "random"
    assert (card["dimensions"], card["max_input_tokens"], card["preset"]) == (1024, 8192, "qwen")
    assert card["truncate"] is False  # qwen keeps its limit: a clear 400 past it
    assert too_long.status_code == 400
    assert "exceeds the maximum of 8192" in too_long.json()["error"]["message"]
    assert query.status_code == 200 and len(query.json()["data"][0]["embedding"]) == 32
    # "Instruct: Retrieve passages\nQuery:" adds tokens: the query costs more than its text alone.
    assert query.json()["usage"]["prompt_tokens"] > 8
    assert document.status_code == 200 and len(document.json()["data"][0]["embedding"]) == 1024
    assert too_small.status_code == 400 and "between 32 and 1024" in too_small.text
    assert probed.skipped is not None and "random weights" in probed.skipped
    assert probed.separation == {} and probed.consistency is None


def test_no_weights_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.cli", "serve", "--model", "bge", "--port", "9"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"HF_HOME": str(tmp_path / "empty-cache"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "no bge-m3 weights" in line and "--model-path" in line and "--random-weights" in line
