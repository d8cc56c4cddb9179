"""The shipped scenarios against the real bundled server at its defaults: `embload run` and plain
`locust -f`, every request a success, every record the text its user's seed says."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loadtest.core.payloads import SCENARIOS, PayloadSampler, scenario_pools, user_seed
from loadtest.data import builtin_corpus
from tests.support.commands import EMBLOAD, run_embload, run_locust
from tests.support.gpu import no_gpu_reason
from tests.support.http import free_port


def check_run_dir(run_dir: Path, scenario: str, users: int) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert summary["scenario"] == scenario and summary["users"] == users
    assert summary["requests"] == len(records) > 0
    assert summary["ok"] == summary["requests"], summary["error_samples"]
    assert summary["model"] == "all-MiniLM-L6-v2" and summary["schema_version"] == 1
    lat = summary["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    assert summary["tokens_per_s"] > 0 and summary["qps"] > 0
    ok_latencies = sorted(r["latency_s"] * 1000 for r in records if r["error"] is None)
    assert lat["max"] == pytest.approx(ok_latencies[-1])
    assert summary["qps"] == pytest.approx(summary["ok"] / summary["duration_s"])
    # the bundled server's own clock (TEI's headers) on every good reply, inside the latency
    clock = summary["server_time_ms"]
    assert clock["requests"] == summary["ok"] and clock["rest"]["p50"] > 0
    assert 0 < clock["inference"]["p50"] <= clock["total"]["p50"] < lat["p50"]
    check_seeded_streams(scenario, records)
    return summary


def check_seeded_streams(scenario: str, records: list[dict[str, Any]], seed: int = 0) -> None:
    """Each user's records are the first requests of its own seeded stream, in order."""
    pools = scenario_pools(SCENARIOS[scenario], builtin_corpus())
    inputs = SCENARIOS[scenario].inputs_per_request
    for user in {r["user"] for r in records}:
        mine = [r for r in records if r["user"] == user]
        sampler = PayloadSampler(pools, user_seed(seed, user))
        expected = [sum(len(p.text) for p in sampler.draw(inputs)) for _ in mine]
        assert [r["chars"] for r in mine] == expected, f"user {user}"


def test_embload_run_single(reference_server: str, tmp_path: Path) -> None:
    out = tmp_path / "single-run"
    args = ["--target", reference_server, "--scenario", "single", "--duration", "3s"]
    proc = run_embload([*args, "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = check_run_dir(out, "single", 1)
    assert summary["inputs_per_request"] == 1 and set(summary["by_category"]) == {"zh"}
    assert "P50" in proc.stdout and "server cuts inputs over 256 tokens" in proc.stdout


@pytest.mark.parametrize(
    ("scenario", "users", "inputs", "encoding"),
    [("single", 1, 1, None), ("medium", 16, 10, "float"), ("peak", 64, 1, None)],
)
def test_plain_locust_against_the_default_server_fails_nothing(
    reference_server: str,
    tmp_path: Path,
    scenario: str,
    users: int,
    inputs: int,
    encoding: str | None,
) -> None:
    # No -u: the scenario's own user count applies. No --embload-out: ./reports/<time>-<name>/.
    # Settings reach plain locust as EMBLOAD_* variables; base64 is the default encoding.
    env = {"EMBLOAD_ENCODING_FORMAT": encoding} if encoding else {}
    host = reference_server.removesuffix("/v1")
    proc = run_locust(scenario, host, ["-t", "6s"], tmp_path, **env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (p for p in (tmp_path / "reports").iterdir() if p.is_dir())
    assert (tmp_path / "reports" / "history.sqlite").is_file()  # the run was indexed
    assert run_dir.name.endswith(f"-{scenario}") and (run_dir / "report.html").exists()
    summary = check_run_dir(run_dir, scenario, users)
    assert summary["inputs_per_s"] == pytest.approx(summary["qps"] * inputs)
    assert summary["encoding_format"] == (encoding or "base64")
    records = [json.loads(line) for line in (run_dir / "records.jsonl").open()]
    if scenario == "peak":
        # 64 users' seeded streams reach every category within their first requests
        assert set(summary["by_category"]) == {"zh", "en", "code", "mixed"}
    if scenario == "medium":
        # ten texts of 20-200 chars, lengths spread evenly: about 110 chars a text
        per_text = statistics.median(r["chars"] / r["inputs"] for r in records)
        assert 95 <= per_text <= 125, per_text


def test_settings_layers_in_a_real_run(reference_server: str, tmp_path: Path) -> None:
    (tmp_path / "embload.toml").write_text(
        f'[run]\nduration = "2s"\nscenario = "single"\ntarget = "{reference_server}"\n'
    )
    both = run_embload(["--users", "2", "--out", "flag"], tmp_path, EMBLOAD_USERS="3")
    env_only = run_embload(["--out", "env"], tmp_path, EMBLOAD_USERS="3")
    file_only = run_embload(["--out", "file"], tmp_path)
    for proc in (both, env_only, file_only):
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # --users 2 over EMBLOAD_USERS=3 over the scenario's own 1; duration and scenario from [run]
    for out, users in (("flag", 2), ("env", 3), ("file", 1)):
        summary = check_run_dir(tmp_path / out, "single", users)
        # Locust's -t counted from the load's start, not from before embload's setup
        assert 2.0 <= summary["duration_s"] < 3.5


def test_run_with_serve_starts_and_stops_the_bundled_server(tmp_path: Path) -> None:
    port = free_port()
    args = ["--serve", "--serve-port", str(port), "--scenario", "single", "--duration", "2s"]
    proc = run_embload(args, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (run_dir,) = (p for p in (tmp_path / "reports").iterdir() if p.is_dir())
    summary = check_run_dir(run_dir, "single", 1)
    startup = summary["startup"]
    assert 0 < startup["model_loaded_s"] < startup["ready_s"] < 240
    assert startup["idle_rss_bytes"] > 50 << 20  # torch and a model are loaded
    assert startup["command"] == f"embload serve --port {port}"
    reason = no_gpu_reason()
    if reason is None:  # a GPU here: its memory was read
        assert startup["idle_gpu_mem_bytes"] >= 0 and summary["gpu"]["samples"] > 0
    else:
        assert startup["idle_gpu_mem_bytes"] is None and startup["gpu_unavailable"] == reason
        assert summary["gpu"] is None and summary["gpu_unavailable"] == reason
    server = summary["server_process"]  # embload knew the PID: RSS and CPU were sampled
    assert server["samples"] >= 5 and server["peak_rss_bytes"] >= startup["idle_rss_bytes"] // 2
    assert "start-up: model loaded" in proc.stdout and "server process" in proc.stdout
    with pytest.raises(ConnectionError):  # stopped by embload
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_nothing_listening_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = free_port()
    proc = run_embload(["--target", f"http://127.0.0.1:{port}/v1"], tmp_path, COLUMNS="60")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert f"nothing is listening at http://127.0.0.1:{port}" in line and "embload serve" in line
    assert not (tmp_path / "reports").exists()


def test_instruction_and_extra_headers_reach_the_server_but_no_file(
    reference_server: str, tmp_path: Path
) -> None:
    host = reference_server.removesuffix("/v1")
    tokens = {}
    for name, extra in (
        ("plain", {}),
        (
            "instructed",
            {
                "EMBLOAD_INSTRUCTION": "Given a question, retrieve passages that answer it",
                "EMBLOAD_HEADERS": '{"X-Tenant-Token": "tenant-secret-4242"}',
            },
        ),
    ):
        args = ["-t", "3s", "--embload-out", str(tmp_path / name)]
        proc = run_locust("single", host, args, tmp_path, **extra)
        assert proc.returncode == 0, proc.stderr[-2000:]
        first = json.loads((tmp_path / name / "records.jsonl").open().readline())
        tokens[name] = first["prompt_tokens"]
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        if name == "instructed":
            assert summary["instruction"].startswith("Given a question")
            assert summary["extra_headers"] == ["X-Tenant-Token"]
            for path in (tmp_path / name).iterdir():
                assert b"tenant-secret-4242" not in path.read_bytes(), path.name
        else:
            assert summary["instruction"] is None and summary["extra_headers"] == []
    # The same seeded first text, now behind "Instruct: ...\nQuery:": more tokens.
    assert tokens["instructed"] > tokens["plain"] + 5


def test_every_summary_validates_against_embload_schema(
    reference_server: str, tmp_path: Path
) -> None:
    import jsonschema

    schema = json.loads(
        subprocess.run([*EMBLOAD, "schema", "summary"], capture_output=True, text=True).stdout
    )
    args = ["--target", reference_server, "--scenario", "all", "--duration", "2s"]
    proc = run_embload([*args, "--users", "2", "--out", "all"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for scenario in SCENARIOS:
        doc = json.loads((tmp_path / "all" / scenario / "summary.json").read_text())
        jsonschema.validate(doc, schema)
        assert doc["scenario"] == scenario
