"""Targets as users name them, each API in its own dialect, and the preflight's one line.

The servers (tests/support/dialects.py) are written from each API's published reference.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.commands import EMBLOAD, ran_clean, run_embload, run_locust, summary_of
from tests.support.dialects import KEY, MODEL, Cohere, Infinity, NoRoute, Ollama, OpenAICloud, Tei
from tests.support.http import serving


def test_infinity_at_its_defaults_by_its_bare_address(tmp_path: Path) -> None:
    Infinity.hits.clear()
    with serving(Infinity) as host:
        args = ["--target", host, "--scenario", "single", "--duration", "2s"]
        args += ["--gpu-cost-per-hour", "2.5"]
        proc = run_embload([*args, "--out", str(tmp_path / "r")], tmp_path)
        summary = ran_clean(proc, tmp_path / "r")
    per_1m_tokens = 2.5 / 3600 / summary["tokens_per_s"] * 1e6
    assert summary["cost"]["usd_per_1m_tokens"] == pytest.approx(per_1m_tokens)
    assert "cost at $2.5/h" in proc.stdout
    assert summary["route"] == f"{host}/embeddings" and summary["dialect"] == "openai"
    assert summary["model"] == MODEL  # /models, found at the route's prefix
    assert f"embeddings route: {host}/embeddings" in proc.stdout
    # asked /v1/embeddings first, then took /embeddings; the load never went to /v1
    assert Infinity.hits[0] == "POST /v1/embeddings"
    assert sum(h == "POST /v1/embeddings" for h in Infinity.hits) == 1


def test_an_explicit_route_is_kept_and_a_wrong_one_gets_the_fix(tmp_path: Path) -> None:
    with serving(Infinity) as host:
        proc = run_embload(
            ["--target", f"{host}/", "--duration", "1s", "--out", str(tmp_path / "r")], tmp_path
        )
        ran_clean(proc, tmp_path / "r")
        wrong = run_embload(["--target", f"{host}/v1", "--duration", "1s"], tmp_path)
    assert wrong.returncode == 2
    (line,) = wrong.stderr.strip().splitlines()
    assert line == (
        f"error: {host}/v1/embeddings answered HTTP 404: no embeddings route there; the "
        f"server answers at /embeddings: use --target {host}/"
    )


def test_a_target_with_no_embeddings_route_stops_within_seconds(tmp_path: Path) -> None:
    NoRoute.hits.clear()
    with serving(NoRoute) as host:
        start = time.monotonic()
        proc = run_embload(["--target", host, "--duration", "30s"], tmp_path)
        took_s = time.monotonic() - start
    assert proc.returncode == 2 and took_s < 20
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {host} has no embeddings route (tried /v1/embeddings, ")
    assert "--target" in line
    assert len(NoRoute.hits) <= 6, NoRoute.hits  # the four routes asked, nothing more
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_tei_native_found_by_asking_and_by_dialect(tmp_path: Path) -> None:
    with serving(Tei) as host:
        for name, args in (
            ("asked", ["--target", host]),
            ("told", ["--target", host, "--dialect", "tei"]),
        ):
            out = tmp_path / name
            proc = run_embload(
                [*args, "--scenario", "medium", "--duration", "2s", "--out", str(out)], tmp_path
            )
            summary = ran_clean(proc, out)
            assert summary["route"] == f"{host}/embed" and summary["dialect"] == "tei"
            assert summary["encoding_format"] == "float"  # TEI sends floats whatever is asked
            clock = summary["server_time_ms"]  # what the server said it measured, per reply
            assert clock["requests"] == summary["ok"]
            assert clock["queue"]["p50"] == clock["queue"]["max"] == Tei.QUEUE_MS
            assert clock["total"]["p50"] == Tei.QUEUE_MS + 3
            # its /metrics, found at the target's host and scraped every second
            scraped = [json.loads(line) for line in (out / "server_metrics.jsonl").open()]
            names = {m["name"] for m in scraped}
            # a counter's sample as prometheus-client names it: with _total
            assert {"te_queue_size", "te_batch_current_size", "te_request_count_total"} <= names
            assert "te_request_duration_bucket" not in names and "te_request_duration_sum" in names
            queue = [m for m in scraped if m["name"] == "te_queue_size"]
            assert len(queue) >= 2 and all(m["value"] == 2 for m in queue)  # 2 s, once a second


def test_ollama_with_its_model_and_an_unknown_model(tmp_path: Path) -> None:
    with serving(Ollama) as host:
        out = tmp_path / "r"
        args = ["--target", host, "--model", MODEL, "--duration", "2s", "--out", str(out)]
        summary = ran_clean(run_embload(args, tmp_path), out)
        assert summary["route"] == f"{host}/api/embed" and summary["dialect"] == "ollama"
        assert summary["tokens_per_s"] > 0  # prompt_eval_count
        unknown = run_embload(["--target", host, "--model", "nope", "--duration", "2s"], tmp_path)
    assert unknown.returncode == 2
    (line,) = unknown.stderr.strip().splitlines()
    assert line.startswith(f'error: {host}/api/embed answered HTTP 404 (model "nope" not found')
    assert line.endswith("pass a model it serves with --model")


def test_cohere_with_and_without_its_key(tmp_path: Path) -> None:
    with serving(Cohere) as host:
        target = f"{host}/v2/embed"
        out = tmp_path / "r"
        args = ["--target", target, "--model", "embed-v4.0", "--duration", "2s", "--out", str(out)]
        summary = ran_clean(run_embload(args, tmp_path, EMBLOAD_API_KEY=KEY), out)
        assert summary["dialect"] == "cohere" and summary["tokens_per_s"] > 0
        refused = run_embload(["--target", target, "--duration", "2s"], tmp_path)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line == (
        f"error: {target} answered HTTP 401 (invalid api token): pass the key with "
        "--api-key or EMBLOAD_API_KEY"
    )


class ListsAtV1(Tei):
    """Answers /v1/embeddings the way TEI answers /embed: a bare list of vectors."""

    def _post(self) -> None:
        if self.path == "/v1/embeddings":
            self.path = "/embed"
            self._json(200, [[0.6, 0.8]])
            return
        super()._post()


def test_a_reply_in_another_dialect_or_route_is_named(tmp_path: Path) -> None:
    with serving(ListsAtV1) as host:
        shape = run_embload(["--target", f"{host}/v1"], tmp_path)
    with serving(Tei) as host:
        openai = run_embload(["--target", f"{host}/", "--dialect", "openai"], tmp_path)
        both = run_embload(["--target", f"{host}/embed", "--dialect", "infinity"], tmp_path)
    assert shape.returncode == openai.returncode == both.returncode == 2
    (line,) = shape.stderr.strip().splitlines()
    assert line.endswith(
        "but not with embeddings in the openai dialect (reply has no 'data' "
        "list): name the API with --dialect"
    )
    (line,) = openai.stderr.strip().splitlines()
    assert line.endswith(f"the server answers at /embed: use --target {host}/ --dialect tei")
    (line,) = both.stderr.strip().splitlines()
    assert "names a tei route but --dialect is infinity" in line


@pytest.mark.parametrize("server", [Infinity, Tei])
def test_plain_locust_with_a_bare_host_asks_too(server: type[Infinity], tmp_path: Path) -> None:
    with serving(server) as host:
        out = tmp_path / "r"
        proc = run_locust("single", host, ["-t", "2s", "--embload-out", str(out)], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    summary = summary_of(out)
    assert summary["requests"] == summary["ok"] > 0
    assert summary["route"] in (f"{host}/embeddings", f"{host}/embed")


def test_a_rate_limited_cloud_is_measured_and_its_limit_named(tmp_path: Path) -> None:
    """A 429 is the server's answer under load, not a wrong request: the preflight lets it
    through, the load records it, and its message says what the headers said."""
    with serving(OpenAICloud) as host:
        out = tmp_path / "r"
        args = ["--target", f"{host}/v1", "--model", MODEL, "--duration", "2s"]
        proc = run_embload([*args, "--out", str(out)], tmp_path)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # some failed
    summary = summary_of(out)
    assert summary["errors"]["rate_limited"] > 0 and summary["ok"] > 0
    (sample, *_) = summary["error_samples"]["rate_limited"]
    assert sample.startswith("HTTP 429: Rate limit reached for text-embedding-3-small")
    assert sample.endswith(
        "(retry after 1 s, requests left 0, requests reset in 20ms, tokens left 999000, "
        "tokens reset in 60ms)"
    )


def test_the_quality_probe_asks_a_bare_target_too(tmp_path: Path) -> None:
    Infinity.hits.clear()
    with serving(Infinity) as host:
        proc = subprocess.run(
            [*EMBLOAD, "probe", host, "--out", str(tmp_path / "p")],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "p" / "probe.json").read_text())["skipped"] is None
    assert Infinity.hits.count("POST /v1/embeddings") == 1  # asked once, then /embeddings
