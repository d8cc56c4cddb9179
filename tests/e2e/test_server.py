"""The bundled server's contract: OpenAI shapes, real vectors, a clear 4xx for every bad input."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import bundled_server


def post(base: str, body: object) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{base}/embeddings",
        content=content,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_models_and_health(reference_server: str) -> None:
    models = httpx.get(f"{reference_server}/models").json()
    card = models["data"][0]
    assert card["id"] == "all-MiniLM-L6-v2" and card["dimensions"] == 384
    assert card["weights"] == "pretrained"
    health = httpx.get(reference_server.removesuffix("/v1") + "/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy"


def test_embeddings_are_real_normalized_and_counted(reference_server: str) -> None:
    texts = [
        "How do I reset my password?",
        "Steps to recover a forgotten password",
        "The best ramen in town",
    ]
    doc = post(reference_server, {"input": texts, "model": "all-MiniLM-L6-v2"}).json()
    assert doc["object"] == "list" and [d["index"] for d in doc["data"]] == [0, 1, 2]
    vecs = np.array([d["embedding"] for d in doc["data"]])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # a real model: the two password questions are closer than either is to ramen
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    assert doc["usage"]["prompt_tokens"] == doc["usage"]["total_tokens"] > 3 * 3


def test_a_text_alone_and_in_a_batch_give_the_same_vector(reference_server: str) -> None:
    text = "检索增强生成的效果取决于召回质量 and recall quality"
    alone = post(reference_server, {"input": text}).json()["data"][0]["embedding"]
    batch = [text, "short", "a much longer sentence " * 20, "中文"]
    inside = post(reference_server, {"input": batch}).json()["data"][0]["embedding"]
    assert float(np.dot(alone, inside)) > 0.99999


def test_base64_and_dimensions(reference_server: str) -> None:
    flt = post(reference_server, {"input": "hello", "dimensions": 64}).json()["data"][0][
        "embedding"
    ]
    b64 = post(reference_server, {"input": "hello", "dimensions": 64, "encoding_format": "base64"})
    raw = np.frombuffer(base64.b64decode(b64.json()["data"][0]["embedding"]), dtype="<f4")
    assert len(flt) == raw.size == 64
    assert np.allclose(flt, raw, atol=1e-6)
    assert np.linalg.norm(raw) == pytest.approx(1.0, abs=1e-5)  # truncated, then re-normalized


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"input": ""}, 400, "empty"),
        ({"input": []}, 400, "empty"),
        ({"input": ["ok", ""]}, 400, "input[1]"),
        ({"input": ["x"] * 2049}, 400, "2048"),
        ({"input": 42}, 422, "string or a list of strings"),
        ({"input": [1, 2]}, 422, "string or a list of strings"),
        ({"input": "x", "encoding_format": "int8"}, 422, "encoding_format"),
        ({"model": "m"}, 422, "input"),
        (b"{not json", 400, "not valid JSON"),
        ({"input": "x", "model": "gpt-4"}, 404, "does not exist"),
        ({"input": "x", "dimensions": 0}, 400, "dimensions"),
        ({"input": "x", "dimensions": 385}, 400, "dimensions"),
        ({"input": "y" * (2 << 20)}, 413, "limit"),
    ],
)
def test_bad_input_gets_a_clear_openai_error(
    reference_server: str, body: object, status: int, needle: str
) -> None:
    resp = post(reference_server, body)
    assert resp.status_code == status, resp.text[:300]
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert needle in err["message"]


def test_minilm_cuts_to_its_window_by_default_and_says_so(reference_server: str) -> None:
    # As sentence-transformers does with its max_seq_length: 300 words become 256 tokens.
    resp = post(reference_server, {"input": "word " * 300})
    assert resp.status_code == 200 and resp.json()["usage"]["prompt_tokens"] == 256
    (card,) = httpx.get(reference_server + "/models").json()["data"]
    assert (card["truncate"], card["max_input_tokens"]) == (True, 256)


def test_too_long_input_with_no_truncate(tmp_path: Path) -> None:
    with bundled_server(tmp_path / "log", "--no-truncate") as (_, url):
        resp = post(url, {"input": "word " * 300})
        (card,) = httpx.get(url + "/models").json()["data"]
    assert resp.status_code == 400 and card["truncate"] is False
    assert resp.json()["error"]["message"] == "Input length 302 tokens exceeds the maximum of 256"


def test_unknown_route_is_openai_shaped(reference_server: str) -> None:
    resp = httpx.get(reference_server.removesuffix("/v1") + "/nope")
    assert resp.status_code == 404 and resp.json()["error"]["message"] == "Not Found"


def test_probe_command_on_the_reference_server(reference_server: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtest.cli", "probe", reference_server, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((tmp_path / "probe.json").read_text())
    assert result["model"] == "all-MiniLM-L6-v2" and result["texts"] > 200
    consistency = result["consistency"]
    assert consistency["same_text"] >= 0.9999 and consistency["in_batch"] >= 0.999
    assert consistency["burst_worst"] >= 0.999 and result["flags"] == []
    assert consistency["under_load_worst"] is None  # alone, the probe has no load runs to sample
    separation = result["separation"]
    assert set(separation) == {
        "zh_paraphrase",
        "zh_en",
        "zh_ja",
        "code_doc",
        "near_miss",
        "unrelated",
    }
    # MiniLM reads English and code: code and its docstring separate well.
    assert separation["code_doc"]["auc"] > 0.9
    assert "quality probe" in proc.stdout and "code doc" in proc.stdout


def test_metrics_parse_with_prometheus_client_and_count_what_was_served(
    reference_server: str,
) -> None:
    def scrape() -> dict[str, float]:
        text = httpx.get(reference_server.removesuffix("/v1") + "/metrics").text
        return {
            f"{s.name}{sorted(s.labels.items())}": s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    before = scrape()
    ok = httpx.post(f"{reference_server}/embeddings", json={"input": ["a", "b", "c"]})
    refused = httpx.post(f"{reference_server}/embeddings", json={"input": ["a"], "model": "x"})
    assert (ok.status_code, refused.status_code) == (200, 404)
    after = scrape()
    assert float(ok.headers["x-inference-time"]) > 0  # TEI's header, in ms
    assert float(ok.headers["x-total-time"]) >= float(ok.headers["x-inference-time"])

    def grew(key: str) -> float:
        return after[key] - before.get(key, 0.0)

    assert grew("embload_server_requests_total[('status', '200')]") == 1
    assert grew("embload_server_errors_total[('code', 'model_not_found')]") == 1
    assert grew("embload_server_request_duration_seconds_count[]") == 1
    assert grew("embload_server_batch_size_sum[]") == 3  # the three texts, in one pass or more
    assert after["embload_server_queue_size[]"] == 0
