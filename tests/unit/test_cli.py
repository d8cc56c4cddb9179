"""The CLI stays light: `embload --help` imports no torch, locust, server or numpy."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, loadtest.cli\n"
        "heavy = {'torch', 'transformers', 'locust', 'gevent', 'fastapi', 'numpy', "
        "'loadtest.server.app', 'loadtest.runner'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_scenario_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtest.cli",
            "run",
            "--target",
            "http://127.0.0.1:1/v1",
            "--scenario",
            "huge",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown scenario 'huge'; pick one of single, medium, peak or all"
    ]
