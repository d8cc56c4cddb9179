"""The shipped examples name only what exists: every EMBLOAD_* variable in the Kubernetes
manifest is an option's variable, and its locustfile is a shipped scenario's."""

from __future__ import annotations

import re
from pathlib import Path

from loadtest.config.options import env_var, options
from loadtest.config.settings import LoadSettings
from loadtest.core.payloads import SCENARIOS

ROOT = Path(__file__).resolve().parents[3]


def test_the_locusttest_manifest_uses_real_settings_and_a_shipped_scenario() -> None:
    text = (ROOT / "examples" / "locusttest.yaml").read_text()
    known = {env_var(LoadSettings, spec) for spec in options(LoadSettings)}
    named = set(re.findall(r"name: (EMBLOAD_\w+)", text))
    assert named and named <= known, named - known
    files = set(re.findall(r"--locustfile ([^\s\"]+)", text))
    assert len(files) == 1
    (path,) = files
    assert path.split("/")[-2] == "_scenarios" and Path(path).stem in SCENARIOS
    assert (ROOT / "scenarios" / Path(path).name).is_file()
    # the secret comes from a Secret, never written into the manifest
    assert "EMBLOAD_API_KEY" not in named and "secretRefs" in text
