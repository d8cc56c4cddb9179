"""`embload trace synth|show|from-run` as a user types them: what they write and print, and each
mistake as one line and exit 2."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from loadtest.config.commands import TraceFromRunSettings, TraceSynthSettings
from loadtest.config.options import env_var, options
from loadtest.store.traces import check_trace
from tests.support.commands import EMBLOAD, clean_env
from tests.support.synthetic import write_run


def embload(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EMBLOAD, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=clean_env(COLUMNS="100"),
    )


def test_synth_writes_a_trace_that_show_reads(tmp_path: Path) -> None:
    out = tmp_path / "spikes.jsonl"
    args = ["--shape", "spikes", "--rate", "20", "--spike-x", "4", "--spike-every", "30s"]
    made = embload("trace", "synth", *args, "--duration", "2m", "--seed", "3", "--out", str(out))
    assert made.returncode == 0, made.stderr
    info = check_trace(out)
    assert f"trace: {out} · {info.lines:,} requests over" in made.stdout
    assert info.sha256 in made.stdout
    assert 20 * 120 < info.lines < 20 * 120 + 3 * 5 * 60 * 1.3  # three spikes of 5 s at 80 req/s
    again = embload("trace", "synth", *args, "--duration", "2m", "--seed", "3", "--out", str(out))
    assert again.returncode == 0 and check_trace(out).sha256 == info.sha256

    shown = embload("trace", "show", str(out))
    assert shown.returncode == 0, shown.stderr
    for words in (f"{info.lines:,}", "gap CV", "input tokens", "rate  ", "req/s"):
        assert words in shown.stdout, words
    assert max(len(line) for line in shown.stdout.splitlines()) <= 100


def test_synth_writes_csv_with_the_inputs_asked(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    made = embload(
        "trace", "synth", "--shape", "constant", "--rate", "5", "--duration", "10s",
        "--scenario", "single", "--inputs", "1,8", "--out", str(out),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "t,texts,inputs,tokens,category" and len(lines) == 51
    assert {line.split(",")[2] for line in lines[1:]} == {"1", "8"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shape", "ramp"], "error: a ramp goes from --rate to --rate-to: give --rate-to"),
        (["--rate-to", "5"], "error: --rate-to is where a ramp ends: add --shape ramp"),
        (["--burstiness", "0.5"], "error: burstiness shapes gamma gaps: add --shape gamma"),
        (["--scenario", "huge"], "error: unknown scenario 'huge'; pick from single, medium, peak"),
        (["--rate", "0"], "error: --rate: Input should be greater than 0"),
        ([], "error: give --out FILE: the trace to write (.jsonl or .csv)"),
        (["--out", "trace.txt"], "error: trace trace.txt: name it .jsonl or .csv"),
    ],
)
def test_a_synth_mistake_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = [] if "--out" in args or not args else ["--out", "t.jsonl"]
    proc = embload("trace", "synth", *args, *out, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr


def test_show_names_a_bad_line_and_a_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "trace.jsonl"
    bad.write_text('{"t": 1, "text": "a"}\n{"t": 0.5, "text": "b"}\n', encoding="utf-8")
    proc = embload("trace", "show", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f'error: {bad} line 2: "t" goes back in time (0.5 after 1.0)'
    missing = embload("trace", "show", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read trace" in missing.stderr


def test_from_run_writes_the_runs_trace_beside_it(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_run(run, 300)  # its records' chars are made up: no texts can match them
    proc = embload("trace", "from-run", str(run))
    assert proc.returncode == 0, proc.stderr
    info = check_trace(run / "trace.jsonl")
    assert info.lines == 300
    assert f"trace: {run / 'trace.jsonl'} · 300 requests" in proc.stdout
    assert "texts: not exact" in proc.stdout
    out = tmp_path / "elsewhere.csv.gz"
    proc = embload("trace", "from-run", str(run), "--out", str(out))
    assert proc.returncode == 0 and check_trace(out).lines == 300
    assert hashlib.sha256(out.read_bytes()).hexdigest() in proc.stdout
    not_a_run = embload("trace", "from-run", str(tmp_path))
    assert not_a_run.returncode == 2 and not_a_run.stderr.startswith("error: ")


@pytest.mark.parametrize(
    ("command", "cls"),
    [("synth", TraceSynthSettings), ("from-run", TraceFromRunSettings)],
)
def test_every_option_is_a_flag_with_its_variable(command: str, cls: type) -> None:
    out = subprocess.run(
        [*EMBLOAD, "trace", command, "--help"], capture_output=True, text=True, check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout  # fmt: skip
    for spec in options(cls):
        assert spec.flag in out and env_var(cls, spec) in out, spec.name
