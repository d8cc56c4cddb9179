"""`embload serve --quantize int8` as a user starts it: its card says what it runs, its vectors
are minilm's; fp8 where torch sees no CUDA is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from loadtest.core.results import ModelCard
from tests.support.http import free_port
from tests.support.servers import bundled_server

pytestmark = pytest.mark.slow

TEXTS = [
    "How do I reset my password?",
    "Steps to recover a forgotten password",
    "The best ramen in town",
    "Which GPU do I need to serve an embedding model?",
]


def embed(url: str, texts: list[str]) -> np.ndarray:
    reply = httpx.post(f"{url}/embeddings", json={"input": texts}, timeout=120)
    assert reply.status_code == 200, reply.text
    return np.array([d["embedding"] for d in reply.json()["data"]])


def test_serve_int8_says_so_and_embeds(reference_server: str, tmp_path: Path) -> None:
    with bundled_server(tmp_path / "server.log", "--quantize", "int8") as (_, url):
        (doc,) = httpx.get(f"{url}/models").json()["data"]
        health = httpx.get(url.removesuffix("/v1") + "/health").json()
        quantized = embed(url, TEXTS)
        alone = embed(url, TEXTS[:1])
    card = ModelCard.model_validate(doc)
    plain = ModelCard.model_validate(httpx.get(f"{reference_server}/models").json()["data"][0])
    assert (card.quantize, plain.quantize) == ("int8", None)
    assert card.id == plain.id == "all-MiniLM-L6-v2" and card.dimensions == 384
    assert card.weight_bytes is not None and plain.weight_bytes is not None
    # int8 linear layers, the embedding tables as they were: about 0.65 of fp32's on the CPU,
    # 0.76 of bf16's with CUDA's weight-only int8
    assert 0 < card.weight_bytes < 0.8 * plain.weight_bytes
    assert card.load_s is not None and card.load_s > 0
    assert health["status"] == "healthy" and isinstance(health["model_loaded_at"], float)

    assert quantized.shape == (4, 384)
    assert np.allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(quantized * embed(reference_server, TEXTS), axis=1)
    assert cosines.min() > 0.98, cosines
    assert float(alone[0] @ quantized[0]) > 0.999  # one text alone: its own vector
    # still a real model: the two password questions are closer than either is to ramen
    assert quantized[0] @ quantized[1] > quantized[0] @ quantized[2] + 0.2


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "loadtest.cli", "serve", "--port", str(free_port())]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_fp8_on_the_cpu_is_one_line_and_exit_2() -> None:
    proc = serve("--quantize", "fp8", "--device", "cpu")
    assert proc.returncode == 2, proc.stderr
    assert "error: quantize fp8 needs a CUDA device; on the CPU use int8" in proc.stderr


def test_fp8_where_torch_sees_no_cuda_is_refused_before_the_port_is_bound() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch sees CUDA here: fp8 would be served")
    proc = serve("--quantize", "fp8")
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: --quantize fp8 needs a CUDA device (torchao's fp8 is for GPUs); "
        "on the CPU use --quantize int8"
    ]
