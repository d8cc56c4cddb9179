"""Every option, declared once, through each of its layers: embload.toml, EMBLOAD_* and the
command's real flag parser; flags > environment > embload.toml > defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import SecretStr

from loadtest.cli import app
from loadtest.config.base import Options, parse_duration
from loadtest.config.commands import CompareSettings, SweepSettings
from loadtest.config.options import OptionSpec, command_line, env_var, options, override, resolve
from loadtest.config.settings import LoadSettings, RunSettings, ServeSettings, SoakSettings
from loadtest.core.errors import SettingsError
from loadtest.core.payloads import SCENARIOS

COMMANDS: dict[type[Options], str] = {
    RunSettings: "run",
    CompareSettings: "compare",
    ServeSettings: "serve",
    SweepSettings: "sweep",
    SoakSettings: "soak",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("2m", 120),
        ("1h30m", 5400),
        ("1h", 3600),
        ("90", 90),
        ("1.5", 1.5),
        ("0.5s", 0.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "m", "-5", "5 minutes", "1m1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 30s"):
        parse_duration(text)


# Three values an option can take, as (embload.toml, EMBLOAD_*, flag) would give them, and what
# each must resolve to. Each differs from the next, so every layer's win is visible.
Layers = tuple[tuple[Any, Any], tuple[str, Any], tuple[Any, Any]]


def layers(cls: type[Options], spec: OptionSpec) -> Layers:
    default = spec.default
    if spec.name in ("duration", "slo_step", "stability_min_span", "checkpoint_every"):
        return ("10s", 10.0), ("2m", 120.0), ("1h", 3600.0)
    if spec.name == "warmup":  # a span, or a number of requests
        return ("10s", "10.0s"), ("200", "200"), ("1m", "60.0s")
    if spec.name in ("fail_on_regression", "precision", "slo_precision"):
        return ("5%", 0.05), ("0.1", 0.1), ("15%", 0.15)
    if spec.name == "knee_factor":  # above 1: a factor of the low-load P99
        return (2.0, 2.0), ("2.5", 2.5), (4.0, 4.0)
    if cls is SweepSettings and spec.name in ("rates", "users", "batch"):
        return ("5,10", [5, 10]), ("20", [20]), ("1,2,4", [1, 2, 4])
    if spec.kind is bool:
        flip = not default if default is not None else True
        return (flip, flip), (str(not flip).lower(), not flip), (flip, flip)
    if spec.choices:
        other = [c for c in spec.choices if c != default]
        base = default if default is not None else spec.choices[0]
        return (other[0], other[0]), (base, base), (other[-1], other[-1])
    if spec.kind is int:
        return (3, 3), ("4", 4), (5, 5)
    if spec.kind is float:
        return (0.25, 0.25), ("0.5", 0.5), (0.75, 0.75)
    if spec.kind is Path:
        return ("p1", Path("p1")), ("p2", Path("p2")), (Path("p3"), Path("p3"))
    if spec.kind is list:
        return (
            (["a=http://a"], ["a=http://a"]),
            ("b=http://b", ["b=http://b"]),
            (
                ["c=http://c", "d=http://d"],
                ["c=http://c", "d=http://d"],
            ),
        )
    if spec.name == "headers":
        return (
            ({"X-A": "1"}, {"X-A": "1"}),
            ('{"X-B": "2"}', {"X-B": "2"}),
            (
                '{"X-C": "3"}',
                {"X-C": "3"},
            ),
        )
    if spec.name == "scenarios":
        return (["single"], ["single"]), ("medium,peak", ["medium", "peak"]), ("peak", ["peak"])
    return ("a1", "a1"), ("b2", "b2"), ("c3", "c3")


def flag_args(spec: OptionSpec, value: Any) -> list[str]:
    if spec.kind is bool:
        return [spec.flag if value else f"--no-{spec.flag[2:]}"]
    if isinstance(value, list):
        return [arg for v in value for arg in (spec.flag, v)]
    return [spec.flag, str(value)]


def parse_flags(cls: type[Options], args: list[str]) -> dict[str, Any]:
    """The flags as the real `embload <command>` parses them (nothing is run)."""
    group: Any = typer.main.get_command(app)  # typer's own (vendored) click Group
    sub = group.commands[COMMANDS[cls]]
    positional = ["a", "b"] if cls is CompareSettings else []
    params = sub.make_context(COMMANDS[cls], [*positional, *args]).params
    return {k: v for k, v in params.items() if k in cls.model_fields}


def plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


CASES = [(cls, spec) for cls in COMMANDS for spec in options(cls)]


@pytest.mark.parametrize(("cls", "spec"), CASES, ids=[f"{c.TABLE}.{s.name}" for c, s in CASES])
def test_every_option_through_its_three_layers(
    cls: type[Options], spec: OptionSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./embload.toml: the test names its file with --config
    for name in list(os.environ):
        if name.startswith("EMBLOAD_"):
            monkeypatch.delenv(name)
    (toml_value, from_toml), (env_text, from_env), (flag_value, from_flag) = layers(cls, spec)
    config = tmp_path / "layers.toml"
    # random weights are for qwen and bge: that option needs the model layer set with it
    also = 'model = "qwen"\n' if spec.field == "random_weights" and cls is ServeSettings else ""
    if spec.field == "burstiness":  # shapes gamma arrivals only
        also = 'arrival = "gamma"\n'
    if spec.field == "trace_speed":  # speeds up a trace only
        also = 'trace = "t.jsonl"\n'
    config.write_text(f"[{cls.TABLE}]\n{spec.name} = {_toml(toml_value)}\n{also}")
    monkeypatch.setenv(env_var(cls, spec), env_text)
    flags = parse_flags(cls, flag_args(spec, flag_value))
    assert plain(getattr(resolve(cls, flags, config), spec.field)) == from_flag
    assert plain(getattr(resolve(cls, {}, config), spec.field)) == from_env
    monkeypatch.delenv(env_var(cls, spec))
    assert plain(getattr(resolve(cls, {}, config), spec.field)) == from_toml
    defaults = cls.model_validate({})  # validation alone: no variable, no file
    assert plain(getattr(resolve(cls, {}, None), spec.field)) == plain(
        getattr(defaults, spec.field)
    )


def _toml(value: Any) -> str:
    """A value as TOML writes it (JSON agrees for strings, numbers, booleans and arrays)."""
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(str(value) if isinstance(value, Path) else value)


def test_run_table_feeds_a_locust_process_without_the_run_only_keys(tmp_path: Path) -> None:
    config = tmp_path / "embload.toml"
    config.write_text('[run]\nduration = "5s"\nscenario = "single"\ntimeout = 7\n')
    assert resolve(LoadSettings, {}, config).timeout_s == 7.0  # duration, scenario: run's own
    config.write_text("[run]\ntimout = 7\n")
    with pytest.raises(SettingsError, match=r"embload.toml \[run\]: unknown option 'timout'"):
        resolve(LoadSettings, {}, config)


def test_bad_values_are_one_line_naming_their_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "embload.toml"
    config.write_text("[run]\nusers = 0\n")
    with pytest.raises(SettingsError, match=r"\[run\] users: Input should be greater than"):
        resolve(RunSettings, {}, config)
    monkeypatch.setenv("EMBLOAD_USERS", "many")
    with pytest.raises(SettingsError, match=r"^EMBLOAD_USERS: Input should be a valid integer"):
        resolve(RunSettings, {}, config)
    with pytest.raises(SettingsError, match=r"^--duration: '2 weeks' is not a duration like 30s"):
        resolve(RunSettings, {"duration_s": "2 weeks", "users": 1}, None)
    with pytest.raises(SettingsError, match="does not exist"):
        resolve(RunSettings, {}, tmp_path / "missing.toml")
    config.write_text("[run\n")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        resolve(RunSettings, {}, config)


def test_the_config_file_comes_from_embload_config_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMBLOAD_CONFIG", raising=False)
    (tmp_path / "embload.toml").write_text("[serve]\nport = 31000\n")
    assert resolve(ServeSettings).port == 31000
    other = tmp_path / "other.toml"
    other.write_text("[serve]\nport = 32000\n")
    monkeypatch.setenv("EMBLOAD_CONFIG", str(other))
    assert resolve(ServeSettings).port == 32000


def test_a_child_process_gets_the_settings_as_one_value(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = LoadSettings.model_validate({"api_key": "sk-1", "timeout_s": 9, "headers": {"X": "y"}})
    assert "sk-1" not in sent.model_dump_json()  # a dump for files never holds the key
    monkeypatch.setenv("EMBLOAD_SETTINGS", sent.transfer_json())
    monkeypatch.setenv("EMBLOAD_TIMEOUT", "99")  # the hand-over is already resolved: it wins
    received = resolve(LoadSettings)
    assert received.api_key is not None and received.api_key.get_secret_value() == "sk-1"
    assert (received.timeout_s, received.headers) == (9.0, {"X": "y"})


def test_a_compare_targets_serve_table_wins_over_every_other_layer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMBLOAD_SERVER_MAX_BATCH_SIZE", "8")
    base = resolve(ServeSettings, {}, None)
    served = override(base, {"max-batch-size": 1, "model": "qwen"}, "target x serve")
    assert (served.max_batch_size, served.model, base.max_batch_size) == (1, "qwen", 8)
    with pytest.raises(SettingsError, match="target x serve: unknown option 'nope'"):
        override(base, {"nope": 1}, "target x serve")
    with pytest.raises(SettingsError, match=r"^target x serve: minilm ships its real weights"):
        override(base, {"random_weights": True}, "target x serve")


def test_the_command_line_of_a_server_names_what_differs_from_the_defaults() -> None:
    settings = ServeSettings(model="qwen", random_weights=True, truncate=False, max_batch_size=1)
    assert command_line(settings) == [
        "--model",
        "qwen",
        "--random-weights",
        "--no-truncate",
        "--max-batch-size",
        "1",
    ]


def test_the_scenario_help_names_the_shipped_scenarios() -> None:
    (spec,) = [s for s in options(RunSettings) if s.name == "scenario"]
    assert spec.help == " | ".join([*SCENARIOS, "all"])


def test_locust_options_come_from_the_same_declarations(tmp_path: Path) -> None:
    # Through Locust's own parser, in a process of its own (locust patches the standard library).
    config = tmp_path / "embload.toml"
    config.write_text('[run]\ntimeout = 7\nseed = 3\nduration = "5s"\n')
    code = (
        "import locust.argument_parser as ap, loadtest.loadgen.hooks\n"
        "from loadtest.config.options import settings_from\n"
        "from loadtest.config.settings import LoadSettings\n"
        "parser = ap.get_parser()\n"
        "print(' '.join(o for a in parser._actions for o in a.option_strings))\n"
        "opts = parser.parse_args(['-f', 'x.py', '--embload-seed', '5'])\n"
        "print(settings_from(opts, LoadSettings).model_dump_json())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBLOAD_")}
    env |= {"EMBLOAD_ENCODING_FORMAT": "float", "EMBLOAD_CONFIG": str(config)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    flags, settings = out.stdout.strip().splitlines()[-2:]
    got = json.loads(settings)
    # flag > environment > embload.toml > default, as for `embload run`
    assert (got["seed"], got["encoding_format"], got["timeout_s"], got["gpu_interval_s"]) == (
        5,
        "float",
        7.0,
        0.1,
    )
    assert {f"--embload-{s.flag[2:]}" for s in options(LoadSettings)} <= set(flags.split())
