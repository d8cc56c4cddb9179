"""Targets: built-ins, embload.toml and --target, as compare and probe read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.comparison import load_targets
from loadtest.runner import RunError


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
"""
    )
    targets = load_targets(config, ["bge=http://127.0.0.1:31001/v1"])
    assert targets["qwen"].url == "http://gpu-box:30000/v1"
    assert targets["qwen"].model == "Qwen3-Embedding-0.6B"  # kept from the built-in
    assert targets["qwen"].instruction.startswith("Given a web search")  # type: ignore[union-attr]
    assert targets["prod"].headers == {"X-Tenant": "search"}
    assert (targets["prod"].api_key_env, targets["prod"].model) == ("PROD_KEY", "bge-m3")
    assert targets["bge"].url == "http://127.0.0.1:31001/v1" and targets["bge"].model == "bge-m3"


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        ("[targets.x]\nmodel = 'm'\n", [], "target 'x' has no url"),
        ("[targets\n", [], "is not valid TOML"),
        ("", ["no-equals-sign"], "is not NAME=URL"),
    ],
)
def test_bad_targets_are_one_line(
    tmp_path: Path, content: str, overrides: list[str], message: str
) -> None:
    config = tmp_path / "embload.toml"
    config.write_text(content)
    with pytest.raises(RunError, match=message):
        load_targets(config, overrides)
