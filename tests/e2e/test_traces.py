"""Trace replay as a user runs it: `embload run --trace` against a server that logs when each
request arrived and what it held; a bad line; a past run's trace replayed; the warm-up."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from tests.support.commands import EMBLOAD, clean_env, run_embload, run_locust, summary_of
from tests.support.http import QuietHandler, embeddings_reply, serving


class Logging(QuietHandler):
    """Answers at once; notes each request's arrival (wall clock) and its texts."""

    log: ClassVar[list[tuple[float, tuple[str, ...]]]] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "logging"}]}')

    def do_POST(self) -> None:
        arrived = time.time()
        body = self._body()
        texts = json.loads(body)["input"]
        with self.lock:
            self.log.append((arrived, tuple([texts] if isinstance(texts, str) else texts)))
        self._send(200, embeddings_reply(body))


@pytest.fixture
def server() -> Iterator[str]:
    Logging.log.clear()
    with serving(Logging) as url:
        yield f"{url}/v1"


WARM = 16  # lines at t=0, sent in the warm-up: each in-flight slot opens its connection


def _bursty_trace(path: Path, n: int = 80) -> dict[str, float]:
    """WARM lines at once, then `n` from t=1 s in bursts (gaps of 2 ms, and 150 ms between
    bursts of eight): the lines after the warm-up by their text, which names each one."""
    gaps = np.where(np.arange(n) % 8 == 0, 0.150, 0.002)
    times = 1.0 + np.cumsum(gaps) - gaps[0]
    with path.open("w") as f:
        for i in range(WARM):
            f.write(json.dumps({"t": 0, "texts": [f"warm-up {i}"]}) + "\n")
        for i, t in enumerate(times):
            f.write(json.dumps({"t": round(float(t), 6), "texts": [f"line {i} of the trace"]}))
            f.write("\n")
    return {f"line {i} of the trace": float(t) for i, t in enumerate(times)}


def _replay(server: str, trace: Path, out: Path, *args: str) -> dict[str, object]:
    proc = run_embload(
        [
            *["--target", server, "--trace", str(trace), "--out", str(out)],
            *["--max-in-flight", "16", *args],
        ],
        out.parent,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return summary_of(out)


def _arrival_errors_ms(due: dict[str, float], speed: float) -> np.ndarray:
    """Each line's arrival against its time in the trace (divided by `speed`), from a common
    origin: the median offset, so the clock's and the preflight's share drop out."""
    seen = [(t, texts[0]) for t, texts in Logging.log if texts[0] in due]
    assert len(seen) == len(due), "every line arrived, once"
    offsets = np.array([t - due[text] / speed for t, text in seen])
    return np.abs(offsets - np.median(offsets)) * 1000


def test_a_trace_arrives_at_its_times_and_at_speed_two_in_half_its_span(
    server: str, tmp_path: Path
) -> None:
    trace = tmp_path / "bursty.jsonl"
    due = _bursty_trace(trace)
    summary = _replay(server, trace, tmp_path / "x1", "--warmup", "0.5s")
    errors = _arrival_errors_ms(due, 1.0)
    assert np.percentile(errors, 99) < 6.0, sorted(errors)[-5:]
    sha = hashlib.sha256(trace.read_bytes()).hexdigest()
    assert summary["trace"] == {
        "path": str(trace),
        "sha256": sha,
        "lines": 80 + WARM,
        "span_s": pytest.approx(max(due.values())),
        "speed": 1.0,
        "replayed": 80 + WARM,
    }
    load = summary["load"]
    assert isinstance(load, dict) and load["arrival"] == "trace" and load["dropped"] == 0
    assert summary["requests"] == 80 and summary["warmup"]["requests"] == WARM

    Logging.log.clear()
    _replay(server, trace, tmp_path / "x2", "--trace-speed", "2", "--warmup", "0.25s")
    errors = _arrival_errors_ms(due, 2.0)
    assert np.percentile(errors, 99) < 6.0, sorted(errors)[-5:]
    lines = [t for t, texts in Logging.log if texts[0] in due]
    span_s = max(due.values()) - min(due.values())
    assert max(lines) - min(lines) == pytest.approx(span_s / 2, abs=0.05)


def test_a_bad_line_is_refused_by_number_and_field_before_any_request(
    server: str, tmp_path: Path
) -> None:
    trace = tmp_path / "bad.jsonl"
    trace.write_text(
        '{"t": 0, "texts": ["a"]}\n'
        '{"t": 0.1, "inputs": 2, "tokens": [12, 30]}\n'
        '{"t": 0.2, "inputs": 2, "tokens": [12, -3]}\n'
    )
    proc = run_embload(["--target", server, "--trace", str(trace), "--out", "x"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "line 3" in line and '"tokens"' in line, line
    assert Logging.log == [] and not (tmp_path / "x").exists()
    host = server.removesuffix("/v1")
    plain = run_locust("single", host, ["-t", "5s", "--embload-trace", str(trace)], tmp_path)
    assert plain.returncode == 2, plain.stderr[-2000:]
    assert f"embload: {line.removeprefix('error: ')}" in plain.stderr.splitlines()
    assert Logging.log == [], "not even the preflight's request"


def test_a_past_run_replayed_from_its_trace_sends_the_same_requests(
    server: str, tmp_path: Path
) -> None:
    run = tmp_path / "first"
    proc = run_embload(
        [
            *["--target", server, "--scenario", "medium", "--rate", "40", "--duration", "2s"],
            *["--warmup", "5", "--out", str(run)],
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = Counter(texts for _, texts in Logging.log)
    records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    summary = summary_of(run)
    # the warm-up's requests are recorded, marked, and in no figure
    assert sum(r["warmup"] for r in records) == 5 == summary["warmup"]["requests"]
    assert summary["requests"] == len(records) - 5

    made = subprocess.run(
        [*EMBLOAD, "trace", "from-run", str(run), "--out", "again.jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert made.returncode == 0, made.stderr
    lines = [json.loads(line) for line in (tmp_path / "again.jsonl").read_text().splitlines()]
    assert len(lines) == len(records) and lines[0]["t"] == 0
    assert all("texts" in line for line in lines), "the run's own texts, not lengths"

    Logging.log.clear()
    _replay(server, tmp_path / "again.jsonl", tmp_path / "second", "--warmup", "0")
    assert Counter(texts for _, texts in Logging.log) == first


def test_two_processes_share_one_trace_without_losing_or_doubling_a_line(
    server: str, tmp_path: Path
) -> None:
    trace = tmp_path / "shared.jsonl"
    due = _bursty_trace(trace, n=48)
    summary = _replay(server, trace, tmp_path / "x", "--processes", "2", "--warmup", "0")
    sent = Counter(texts[0] for _, texts in Logging.log if texts[0] in due)
    assert sent == Counter(list(due)), "each line once"
    assert summary["workers"] == ["worker-1", "worker-2"] or len(summary["workers"]) == 2
    assert summary["trace"]["replayed"] == 48 + WARM
