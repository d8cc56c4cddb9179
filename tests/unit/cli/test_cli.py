"""The CLI stays light, its errors are one line, its options are settings.py's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from loadtest.config.commands import CompareSettings
from loadtest.config.options import env_var, options
from loadtest.config.settings import RunSettings, ServeSettings
from loadtest.core.record import FIELD_NAMES, RECORDS_SCHEMA_VERSION, RecordRow
from tests.support.commands import EMBLOAD


def test_cli_import_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, loadtest.cli\n"
        "heavy = {'torch', 'transformers', 'locust', 'gevent', 'fastapi', 'numpy', "
        "'matplotlib', 'loadtest.server.app', 'loadtest.driver.runner'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_scenario_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [*EMBLOAD, "run", "--target", "http://127.0.0.1:1/v1", "--scenario", "huge"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown scenario 'huge'; pick from single, medium, peak or all"
    ]


def test_a_bad_setting_is_one_line_naming_its_layer() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    proc = subprocess.run(
        [*EMBLOAD, "run", "--target", "http://127.0.0.1:1/v1"],
        capture_output=True,
        text=True,
        env={**env, "EMBLOAD_TIMEOUT": "-1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: EMBLOAD_TIMEOUT: Input should be greater than 0"
    ]


@pytest.mark.parametrize(
    ("command", "cls"),
    [("run", RunSettings), ("compare", CompareSettings), ("serve", ServeSettings)],
)
def test_every_option_is_a_flag_with_its_variable_in_the_help(command: str, cls: type) -> None:
    out = subprocess.run(
        [*EMBLOAD, command, "--help"], capture_output=True, text=True, check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout  # fmt: skip
    for spec in options(cls):
        assert spec.flag in out and env_var(cls, spec) in out, spec.name


@pytest.mark.parametrize("document", ["summary", "compare"])
def test_schema_prints_json_schema(document: str) -> None:
    out = subprocess.run(
        [*EMBLOAD, "schema", document], capture_output=True, text=True, check=True
    ).stdout
    schema = json.loads(out)
    assert schema["type"] == "object" and "schema_version" in schema["properties"]
    bad = subprocess.run([*EMBLOAD, "schema", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "pick summary, compare, quality, records" in bad.stderr


def test_the_records_schema_is_the_one_declaration_and_validates_a_line() -> None:
    out = subprocess.run(
        [*EMBLOAD, "schema", "records"], capture_output=True, text=True, check=True
    ).stdout
    schema = json.loads(out)
    assert list(schema["properties"]) == list(FIELD_NAMES)
    assert schema["version"] == RECORDS_SCHEMA_VERSION
    assert "(s)" in schema["properties"]["latency_s"]["description"]  # the unit is stated
    row = RecordRow(1.0, 0.01, 200, None, None, 1, 5, 3, "zh", "short", 0, "local", 0.001)
    line = json.loads(json.dumps(dict(zip(FIELD_NAMES, row, strict=True))))
    jsonschema.validate(line, schema)
    with pytest.raises(jsonschema.ValidationError):  # a real check: a string is no latency
        jsonschema.validate({**line, "latency_s": "fast"}, schema)


def test_a_corpus_that_cannot_be_read_is_one_line_before_any_load(tmp_path: Path) -> None:
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"txt": "no text field"}\n')
    for corpus, message in (
        (tmp_path / "missing.txt", "cannot read corpus"),
        (bad, "c.jsonl: line 1: needs a non-empty string field 'text'"),
    ):
        proc = subprocess.run(
            [*EMBLOAD, "run", "--target", "http://127.0.0.1:1/v1", "--corpus", str(corpus)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == 2
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line
