"""The leaking test server leaks what it says, as its own /metrics reports: the soak verdicts'
tests can trust it to grow by a known amount per request, and not at all with --leak-kib 0."""

from __future__ import annotations

import re

import httpx
import numpy as np

from tests.support.servers import leaky_server

REQUESTS = 300
LEAK_KIB = 256
RSS = re.compile(rb"^process_resident_memory_bytes ([0-9.e+]+)$", re.MULTILINE)


def resident_bytes(client: httpx.Client) -> float:
    reply = client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    match = RSS.search(reply.content)
    assert match is not None, reply.text[:500]
    return float(match.group(1))


def growth_over_requests(leak_kib: int) -> float:
    """Bytes of RSS the server gained over REQUESTS embeddings requests, after a few to warm
    up (the handler's thread, numpy's generator, json's caches)."""
    with leaky_server(leak_kib) as url, httpx.Client(base_url=url, timeout=10) as client:
        body = {"input": ["a leak", "per request"], "model": "leaky"}
        for _ in range(10):
            client.post("/v1/embeddings", json=body)
        before = resident_bytes(client)
        for i in range(REQUESTS):
            reply = client.post("/v1/embeddings", json={**body, "input": [f"text {i}", "more"]})
            assert reply.status_code == 200
        return resident_bytes(client) - before


def test_the_server_leaks_what_it_is_told_to() -> None:
    expected = REQUESTS * LEAK_KIB * 1024
    grew = growth_over_requests(LEAK_KIB)
    assert abs(grew - expected) < expected / 3, (grew, expected)
    assert growth_over_requests(0) < expected / 10


def test_it_speaks_openai_embeddings() -> None:
    with leaky_server(0) as url, httpx.Client(base_url=url, timeout=10) as client:
        models = client.get("/v1/models").json()
        assert models["data"][0]["id"] == "leaky"
        one = client.post("/v1/embeddings", json={"input": "hello there", "model": "m"}).json()
        two = client.post("/v1/embeddings", json={"input": ["x", "hello there"]}).json()
        assert one["object"] == "list" and one["model"] == "m"
        assert one["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
        vector = np.array(one["data"][0]["embedding"])
        assert vector.shape == (32,) and np.isfinite(vector).all()
        assert abs(np.linalg.norm(vector) - 1) < 1e-9
        assert [d["index"] for d in two["data"]] == [0, 1]
        assert two["data"][1]["embedding"] == one["data"][0]["embedding"]  # same text, same vector
        assert client.post("/v1/embeddings", json={"input": []}).status_code == 400
        assert client.post("/v1/embeddings", content=b"not json").status_code == 400
