"""One test's recorder, without Locust: its run directory, records, sampled vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from loadtest.config.settings import LoadSettings
from loadtest.core.payloads import SCENARIOS
from loadtest.core.record import FIELD_NAMES, RecordRow
from loadtest.loadgen.recorder import Recorder, new_recorder
from loadtest.store.files import RECORDS, JsonlWriter, RecordWriter, read_vectors, run_dir_for
from loadtest.store.table import read_columns
from loadtest.target.codec import encode_vector
from loadtest.target.preflight import Preflight

FOUND = Preflight(host="http://h:1", prefix="/v1", dialect="openai", model=None, card=None)


def recorder(tmp_path: Path, **settings: object) -> Recorder:
    s = LoadSettings.model_validate(settings)
    return new_recorder(s, SCENARIOS["peak"], FOUND, "local")


def test_run_directory_as_given_or_fresh(tmp_path: Path) -> None:
    assert run_dir_for(tmp_path / "mine", tmp_path, "peak") == tmp_path / "mine"
    assert (tmp_path / "mine").is_dir()
    fresh = run_dir_for(None, tmp_path / "r", "peak")
    assert fresh.parent == tmp_path / "r" and fresh.name.endswith("-peak")


def test_headers_pools_and_a_user_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "a", "category": "faq"}\n{"text": "b"}\n', encoding="utf-8")
    r = recorder(tmp_path, api_key="sk-9", headers={"X-Tenant": "t"}, corpus=corpus)
    assert r.headers["Authorization"] == "Bearer sk-9" and r.headers["X-Tenant"] == "t"
    assert set(r.pools) == {"faq", "user"}  # a user corpus is taken whole, by its categories
    assert set(recorder(tmp_path).pools) == {"zh", "en", "code", "mixed"}


def test_flush_writes_where_the_run_is_owned_and_hands_back_elsewhere(tmp_path: Path) -> None:
    r = recorder(tmp_path)
    row = RecordRow(
        1.0,
        0.01,
        200,
        None,
        None,
        1,
        5,
        3,
        "zh",
        "short",
        0,
        "local",
        None,
        0.001,
        0.0,
        0.002,
        0.004,
    )
    r.buffer.append(row)
    assert r.flush() == [row] and r.buffer == []  # a worker's: nothing written, rows to send
    r.writer = RecordWriter(tmp_path)
    r.buffer += [row, row]
    r.flush()
    r.writer.close()
    lines = (tmp_path / RECORDS).read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0]).keys() == set(FIELD_NAMES)
    assert read_columns(tmp_path).record(0) == row  # every field, by name, back from Parquet


def test_every_tenth_good_reply_has_its_vectors_kept_up_to_the_limit(tmp_path: Path) -> None:
    r = recorder(tmp_path, keep_vectors=3)
    r.begin(tmp_path)  # opens records, vectors, and starts the sidecar
    try:
        for i in range(60):
            vector = encode_vector(np.array([float(i), 1.0]))
            body = json.dumps({"data": [{"index": 0, "embedding": vector}]}).encode()
            r.keep_vectors([f"text {i}"], body)
    finally:
        assert r.monitor is not None and isinstance(r.vectors, JsonlWriter)
        r.monitor.stop()
        r.vectors.close()
    kept = read_vectors(tmp_path)
    assert [t for t, _ in kept] == ["text 9", "text 19", "text 29"]
    assert [v[0] for _, v in kept] == [9.0, 19.0, 29.0]
