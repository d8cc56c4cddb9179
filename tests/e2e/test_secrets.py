"""An API key and a secret header, given every way a user gives them, reach the server and
no file, log or output of a run, a sweep or a compare."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.commands import EMBLOAD, ROOT, clean_env
from tests.support.http import QuietHandler, embeddings_reply, serving

pytestmark = pytest.mark.slow

KEY = "sk-embload-secret-0123456789"
TOKEN = "tok-embload-secret-9876543210"
PASSWORD = "pw-embload-secret-555"  # a password in the target URL's user:password
TWO_S, FOUR_S = ["--duration", "2s"], ["--duration", "4s"]


class KeyChecking(QuietHandler):
    """Serves only a request with both the bearer key and the secret header: so a run that
    succeeds is a run that sent them."""

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "keyed"}]}')

    def do_POST(self) -> None:
        body = self._body()
        basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        if (
            self.headers.get("Authorization") not in (f"Bearer {KEY}", basic)
            or self.headers.get("X-Api-Token") != TOKEN
        ):
            self._send(
                401,
                b'{"error": {"message": "Incorrect API key provided.", "type": '
                b'"invalid_request_error", "param": null, "code": "invalid_api_key"}}',
            )
            return
        self._send(200, embeddings_reply(body))


def _run(args: list[str], cwd: Path, **env: str) -> str:
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=180, cwd=cwd, env=clean_env(**env)
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def test_keys_reach_the_server_and_nothing_written(tmp_path: Path) -> None:
    with serving(KeyChecking) as host:
        url = f"{host}/v1"
        (tmp_path / "embload.toml").write_text(
            f'[run]\nheaders = {{"X-Api-Token" = "{TOKEN}"}}\n'
            f'[sweep]\nheaders = {{"X-Api-Token" = "{TOKEN}"}}\n'
            "[targets.a]\n"
            f'url = "{url}"\napi_key_env = "KEYED_A"\nheaders = {{"X-Api-Token" = "{TOKEN}"}}\n'
            "[targets.b]\n"
            f'url = "{url}"\napi_key_env = "KEYED_A"\nheaders = {{"X-Api-Token" = "{TOKEN}"}}\n'
        )
        run = [*EMBLOAD, "run", "--target", url, "--scenario", "single", "--duration", "2s"]
        outputs = [
            _run([*run, "--api-key", KEY, "--out", "by-flag"], tmp_path),
            _run([*run, "--out", "by-env"], tmp_path, EMBLOAD_API_KEY=KEY),
            _run(
                [*run[:5], url.replace("//", f"//alice:{PASSWORD}@"), *run[6:], "--out", "by-url"],
                tmp_path,
                EMBLOAD_API_KEY=KEY,
            ),
            _run(
                [
                    *[*EMBLOAD, "sweep", "--target", url, "--users", "1,2", *TWO_S],
                    *["--warmup", "0", "--out", "sweep"],
                ],
                tmp_path,
                EMBLOAD_API_KEY=KEY,
            ),
            _run(
                [
                    *EMBLOAD,
                    "compare",
                    "a",
                    "b",
                    "--scenarios",
                    "single",
                    *FOUR_S,
                    "--warmup",
                    "0",
                    "--out",
                    "compare",
                ],
                tmp_path,
                KEYED_A=KEY,
            ),
            _run(
                [
                    *[sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/single.py")],
                    *["--headless", "-t", "2s", "--host", host, "--embload-out", "plain"],
                ],
                tmp_path,
                EMBLOAD_API_KEY=KEY,
            ),
        ]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "embload.toml"]
    names = {p.name for p in written}
    assert {"summary.json", "records.jsonl", "locust.log", "report.html"} <= names, names
    assert {"sweep.json", "compare.json"} <= names, names
    assert len(written) > 30
    for path in written:
        content = path.read_bytes()
        for secret in (KEY, TOKEN, PASSWORD):
            assert secret.encode() not in content, (secret, path)
    for output in outputs:
        assert KEY not in output and TOKEN not in output and PASSWORD not in output
    summary = json.loads((tmp_path / "by-flag/summary.json").read_text())
    assert summary["extra_headers"] == ["X-Api-Token"] and summary["ok"] == summary["requests"]
    assert json.loads((tmp_path / "by-url/summary.json").read_text())["target"] == url
