"""The commands as a user types them: `embload` and plain `locust -f`, in a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository: tests/support/commands.py

EMBLOAD = [sys.executable, "-m", "loadtest.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any EMBLOAD_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    return {**env, **extra}


def run_locust(
    scenario: str, host: str, args: list[str], cwd: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Plain `locust -f scenarios/<scenario>.py --headless --host HOST --only-summary ARGS`, as
    a Locust user runs a shipped scenario, with the EMBLOAD_* variables given and no others."""
    return subprocess.run(
        [
            *[sys.executable, "-m", "locust", "-f", str(ROOT / f"scenarios/{scenario}.py")],
            *["--headless", "--host", host, "--only-summary", *args],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=clean_env(**env),
    )


def run_embload(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`embload run ARGS` in `cwd`, with the EMBLOAD_* variables given and no others."""
    return subprocess.run(
        [*EMBLOAD, "run", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=clean_env(**env),
    )


def summary_of(out: Path) -> dict[str, Any]:
    """The run directory's summary.json."""
    doc: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return doc


def ran_clean(proc: Any, out: Path) -> dict[str, Any]:
    """The summary of a run that exited 0 with every request a success."""
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = summary_of(out)
    assert summary["requests"] == summary["ok"] > 0, summary["error_samples"]
    return summary
