"""Targets: built-ins, embload.toml and --target, as compare and probe read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.config.commands import CompareSettings
from loadtest.config.options import override, resolve
from loadtest.config.settings import RunSettings, ServeSettings
from loadtest.config.targets import load_targets
from loadtest.core.errors import UsageError


def test_builtins_then_the_file_then_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "embload.toml"
    config.write_text(
        """
[targets.qwen]
url = "http://gpu-box:30000/v1"
instruction = "Given a web search query, retrieve relevant passages"

[targets.prod]
url = "https://embed.example.com/v1"
model = "bge-m3"
api_key_env = "PROD_KEY"
headers = { X-Tenant = "search" }
gpu_cost_per_hour = 2.49

[targets.tei]
url = "http://tei-box:8080"
dialect = "tei"
"""
    )
    targets = load_targets(config, ["bge=http://127.0.0.1:31001/v1"])
    assert targets["qwen"].url == "http://gpu-box:30000/v1"
    assert targets["qwen"].model == "Qwen3-Embedding-0.6B"  # kept from the built-in
    assert targets["qwen"].instruction.startswith("Given a web search")  # type: ignore[union-attr]
    assert targets["prod"].headers == {"X-Tenant": "search"}
    assert (targets["prod"].gpu_cost_per_hour, targets["qwen"].gpu_cost_per_hour) == (2.49, None)
    assert (targets["tei"].dialect, targets["prod"].dialect) == ("tei", None)
    assert (targets["prod"].api_key_env, targets["prod"].model) == ("PROD_KEY", "bge-m3")
    assert targets["bge"].url == "http://127.0.0.1:31001/v1" and targets["bge"].model == "bge-m3"


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        ("[targets.x]\nmodel = 'm'\n", [], "target 'x' has no url"),
        ("[targets\n", [], "is not valid TOML"),
        ("", ["no-equals-sign"], "is not NAME=URL"),
        ("[targets.x]\nurl = 'u'\ngpu_cost_per_hour = '3'\n", [], "USD per hour, a number"),
        ("[targets.x]\nurl = 'u'\ndialect = 'grpc'\n", [], "dialect is one of openai, "),
    ],
)
def test_bad_targets_are_one_line(
    tmp_path: Path, content: str, overrides: list[str], message: str
) -> None:
    config = tmp_path / "embload.toml"
    config.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_targets(config, overrides)


def test_the_example_config_is_valid_with_its_comments_taken_in(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "embload.toml"
    specs = load_targets(example, [])
    base = resolve(ServeSettings)
    served = {n: override(base, specs[n].serve, n) for n in ("batched", "unbatched")}
    assert (served["batched"].max_batch_size, served["unbatched"].max_batch_size) == (64, 1)
    # the commented [run], [serve], [compare] and target tables are valid as they stand
    lines = example.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line == "# [run]")
    active = [line.removeprefix("# ") if (i >= start and " = " in line) or line.startswith("# [")
              else line for i, line in enumerate(lines)]  # fmt: skip
    config = tmp_path / "embload.toml"
    config.write_text("\n".join(line for line in active if not line.startswith("# ")) + "\n")
    run = resolve(RunSettings, {}, config)
    assert (run.scenario, run.duration_s, run.timeout_s) == ("medium", 60.0, 30.0)
    assert resolve(ServeSettings, {}, config).max_batch_size == 32
    compare = resolve(CompareSettings, {}, config)
    assert (compare.scenarios, compare.duration_s) == (["single", "peak"], 20.0)
    assert load_targets(config, [])["prod-qwen"].headers == {"X-Tenant": "search"}
