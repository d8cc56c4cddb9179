"""The shipped scenarios against the real bundled server: `embload run` and plain `locust -f`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, free_port

EMBLOAD = [sys.executable, "-m", "loadtest.cli"]


def check_run_dir(run_dir: Path, scenario: str, users: int) -> dict:  # type: ignore[type-arg]
    summary = json.loads((run_dir / "summary.json").read_text())
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert summary["scenario"] == scenario and summary["users"] == users
    assert summary["requests"] == len(records) > 0
    assert summary["ok"] == summary["requests"], summary["error_samples"]
    assert summary["model"] == "all-MiniLM-L6-v2"
    lat = summary["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    assert summary["tokens_per_s"] > 0 and summary["qps"] > 0
    ok_latencies = sorted(r["latency_s"] * 1000 for r in records if r["error"] is None)
    assert lat["max"] == pytest.approx(ok_latencies[-1])
    return summary


def test_embload_run_single(reference_server: str, tmp_path: Path) -> None:
    out = tmp_path / "single-run"
    proc = subprocess.run(
        [
            *EMBLOAD,
            "run",
            "--target",
            reference_server,
            "--scenario",
            "single",
            "--duration",
            "3s",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = check_run_dir(out, "single", 1)
    assert summary["inputs_per_request"] == 1 and set(summary["by_category"]) == {"zh"}
    assert "P50" in proc.stdout and "single" in proc.stdout


@pytest.mark.parametrize(
    ("scenario", "users", "inputs", "encoding"),
    [("medium", 16, 10, "float"), ("peak", 64, 1, None)],
)
def test_locust_the_locust_way(
    reference_server: str,
    tmp_path: Path,
    scenario: str,
    users: int,
    inputs: int,
    encoding: str | None,
) -> None:
    # No -u: the scenario's own user count applies. No --embload-out: ./reports/<time>-<name>/.
    # Settings reach plain locust as EMBLOAD_* variables; base64 is the default encoding.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    if encoding:
        env["EMBLOAD_ENCODING"] = encoding
    host = reference_server.removesuffix("/v1")
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / f"scenarios/{scenario}.py"),
        "--headless",
        "-t",
        "4s",
        "--host",
        host,
        "--only-summary",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert run_dir.name.endswith(f"-{scenario}")
    summary = check_run_dir(run_dir, scenario, users)
    assert summary["inputs_per_s"] == pytest.approx(summary["qps"] * inputs)
    assert summary["encoding_format"] == (encoding or "base64")
    if scenario == "peak":
        # Categories are drawn evenly (tests/unit/core/test_payloads.py checks the sampler);
        # a few seconds on a busy machine may not reach all four.
        assert set(summary["by_category"]) <= {"zh", "en", "code", "mixed"}
        assert len(summary["by_category"]) >= 2


def test_user_count_flag_overrides_the_scenario(reference_server: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            *EMBLOAD,
            "run",
            "--target",
            reference_server,
            "--scenario",
            "peak",
            "--users",
            "3",
            "--duration",
            "2s",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    check_run_dir(tmp_path / "r", "peak", 3)


def test_run_with_serve_starts_and_stops_the_bundled_server(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(
        [
            *EMBLOAD,
            "run",
            "--serve",
            "--serve-port",
            str(port),
            "--scenario",
            "single",
            "--duration",
            "2s",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (run_dir,) = (p for p in (tmp_path / "reports").iterdir() if p.is_dir())
    summary = check_run_dir(run_dir, "single", 1)
    startup = summary["startup"]
    assert 0 < startup["model_loaded_s"] < startup["ready_s"] < 240
    assert startup["idle_rss_bytes"] > 50 << 20  # torch and a model are loaded
    assert startup["idle_gpu_mem_bytes"] is not None or startup["gpu_unavailable"]
    server = summary["server_process"]  # embload knew the PID: RSS and CPU were sampled
    assert server["samples"] >= 5 and server["peak_rss_bytes"] >= startup["idle_rss_bytes"] // 2
    assert summary["gpu"] is not None or summary["gpu_unavailable"]
    assert "start-up: model loaded" in proc.stdout and "server process" in proc.stdout
    with pytest.raises(ConnectionError):  # stopped by embload
        import socket

        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_nothing_listening_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(
        [*EMBLOAD, "run", "--target", f"http://127.0.0.1:{port}/v1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "60"},
    )
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
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
        cmd = [
            *[sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/single.py")],
            *["--headless", "-t", "3s", "--host", host, "--only-summary"],
            *["--embload-out", str(tmp_path / name)],
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=120, env={**env, **extra}
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        first = json.loads((tmp_path / name / "records.jsonl").open().readline())
        tokens[name] = first["prompt_tokens"]
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        if name == "instructed":
            assert summary["instruction"].startswith("Given a question")
            assert summary["extra_headers"] == ["X-Tenant-Token"]
            for path in (tmp_path / name).iterdir():
                assert b"tenant-secret-4242" not in path.read_bytes(), path.name
    # The same seeded first text, now behind "Instruct: ...\nQuery:": more tokens.
    assert tokens["instructed"] > tokens["plain"] + 5
