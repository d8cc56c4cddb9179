"""Where the files go: an --out that cannot be written stops before any load; a disk that fills
mid-run stops the load and keeps what was written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.commands import EMBLOAD, clean_env
from tests.support.http import Counting, serving


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--duration", "2s"],
        ["sweep", "--users", "1,2", "--duration", "2s", "--warmup", "0"],
        ["compare", "a", "b", "--scenarios", "single", "--duration", "4s", "--warmup", "0"],
    ],
)
def test_an_out_that_cannot_be_written_stops_before_any_load(
    tmp_path: Path, command: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = blocker / "run"
    Counting.served = []
    with serving(Counting) as host:
        targets = ["--target", f"{host}/v1"]
        if command[0] == "compare":
            targets = ["--target", f"a={host}/v1", "--target", f"b={host}/v1"]
        proc = subprocess.run(
            [*EMBLOAD, *command, *targets, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=clean_env(),
        )
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"error: cannot write to {out}: Not a directory; pick another --out"
    ]
    assert Counting.served == []  # not one request


def _small_files(limit_kib: int, cmd: list[str]) -> list[str]:
    """`cmd` where no file may grow past `limit_kib`: a disk that fills, for one process tree
    (the shell's `ulimit -f`; Python ignores SIGXFSZ, so a write past it fails with EFBIG)."""
    return ["bash", "-c", f'ulimit -f {limit_kib} && exec "$@"', "bash", *cmd]


def test_a_disk_that_fills_stops_the_load_and_keeps_what_was_written(tmp_path: Path) -> None:
    out = tmp_path / "run"
    limit_kib = 200
    Counting.served = []
    with serving(Counting) as host:
        args = ["run", "--target", f"{host}/v1", "--scenario", "medium", "--duration", "60s"]
        proc = subprocess.run(
            _small_files(limit_kib, [*EMBLOAD, *args, "--out", str(out)]),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=clean_env(),
        )
        served = len(Counting.served)
    records = out / "records.jsonl"
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"error: cannot write {records}: File too large: the load stopped there; what was "
        f"written is kept in {out}"
    ]
    summary = json.loads((out / "summary.json").read_text())
    kept = records.read_bytes().count(b"\n")
    assert summary["write_error"] == f"cannot write {records}: File too large"
    assert summary["requests"] == kept > 100 and records.stat().st_size <= limit_kib * 1024
    assert summary["duration_s"] < 30  # stopped, not run to its 60 s
    (warning,) = summary["warnings"]
    assert warning.startswith(f"cannot write {records}: File too large: the load stopped there;")
    assert f"{kept:,} records are kept" in warning
    assert served >= kept  # the rest were served and are in no file, as the warning says
