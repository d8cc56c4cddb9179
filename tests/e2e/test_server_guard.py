"""The bundled server with API keys and a slow-client bound: who gets in, what waits how long."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.commands import EMBLOAD, clean_env
from tests.support.servers import bundled_server

KEYS = "sk-embload-first,sk-embload-second"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("keyed") / "server.log"
    with bundled_server(log, "--api-key", KEYS, "--client-timeout", "1") as (_, url):
        yield url


def _openai_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code
    return str(error["message"])


def test_no_key_or_a_wrong_one_is_401_in_openai_shape(keyed: str) -> None:
    body = {"input": "hello"}
    for headers in ({}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": "Basic x"}):
        for response in (
            httpx.post(f"{keyed}/embeddings", json=body, headers=headers),
            httpx.get(f"{keyed}/models", headers=headers),
        ):
            message = _openai_error(response, 401, "invalid_api_key")
            assert "sk-wrong" not in message
            assert response.headers["www-authenticate"] == "Bearer"
    for key in KEYS.split(","):
        bearer = {"Authorization": f"Bearer {key}"}
        ok = httpx.post(f"{keyed}/embeddings", json=body, headers=bearer)
        assert ok.status_code == 200 and len(ok.json()["data"]) == 1


def test_health_and_metrics_stay_open(keyed: str) -> None:
    host = keyed.removesuffix("/v1")
    assert httpx.get(f"{host}/health").status_code == 200
    assert httpx.get(f"{host}/metrics").status_code == 200


def test_a_trailing_slash_is_served_not_redirected(keyed: str) -> None:
    response = httpx.post(
        f"{keyed}/embeddings/",
        json={"input": ["a", "b"]},
        headers={"Authorization": "Bearer sk-embload-first"},
    )
    assert response.status_code == 200 and len(response.json()["data"]) == 2


def _reply_to(sock: socket.socket, wait_s: float) -> tuple[bytes, float]:
    """What the server sends before it closes, and when it closed."""
    sock.settimeout(wait_s)
    start, got = time.monotonic(), b""
    while chunk := sock.recv(65536):
        got += chunk
    return got, time.monotonic() - start


def test_slow_headers_a_silent_connection_and_a_slow_body_get_408(keyed: str) -> None:
    where = urlsplit(keyed)
    address = (where.hostname or "", where.port or 80)
    with socket.create_connection(address) as silent:
        reply, took_s = _reply_to(silent, 10)
    assert reply.startswith(b"HTTP/1.1 408") and took_s < 5
    with socket.create_connection(address) as trickle:
        trickle.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.5)
        trickle.sendall(b"Content-Type: application/json\r\n")  # and never the blank line
        reply, took_s = _reply_to(trickle, 10)
    assert reply.startswith(b"HTTP/1.1 408") and b"request_timeout" in reply and took_s < 5
    head = (
        "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-embload-first\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with socket.create_connection(address) as slow_body:
        slow_body.sendall(head.encode() + b'{"input": ')  # 10 of the 100 bytes
        reply, took_s = _reply_to(slow_body, 10)
    assert reply.startswith(b"HTTP/1.1 408") and took_s < 5
    error = json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]
    assert error["code"] == "request_timeout" and "did not arrive within 1 s" in error["message"]


def test_no_key_on_loopback_is_quiet_and_a_key_is_never_logged(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with bundled_server(log, "--api-key", "sk-never-in-a-log") as (_, url):
        httpx.post(f"{url}/embeddings", json={"input": "x"}, headers={"Authorization": "Bearer no"})
    text = log.read_text()
    assert "sk-never-in-a-log" not in text and "warning" not in text


def test_a_run_with_the_key_succeeds_and_writes_it_nowhere(keyed: str, tmp_path: Path) -> None:
    key = KEYS.split(",")[1]
    out = tmp_path / "run"
    proc = subprocess.run(
        [*EMBLOAD, "run", "--target", keyed, "--duration", "2s", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(EMBLOAD_API_KEY=key),
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["requests"] == summary["ok"] > 0
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert key.encode() not in path.read_bytes(), path
    assert key not in proc.stdout + proc.stderr
