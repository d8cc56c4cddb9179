"""The targets `embload compare` and `embload probe` know by name: built in (`qwen` at :30000,
`bge` at :30001, as sglang users run them), from embload.toml (`[targets.NAME]`: url, model,
api_key_env, instruction, headers, gpu_cost_per_hour, dialect, and a `serve` table of
`embload serve` options), or `--target NAME=URL`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.config.options import config_path, read_config
from loadtest.core.dialects import DIALECTS, Dialect
from loadtest.core.errors import UsageError

BUILTIN_TARGETS: dict[str, dict[str, Any]] = {
    "qwen": {
        "url": "http://127.0.0.1:30000/v1",
        "model": "Qwen3-Embedding-0.6B",
        "serve": {"model": "qwen"},
    },
    "bge": {"url": "http://127.0.0.1:30001/v1", "model": "bge-m3", "serve": {"model": "bge"}},
}
_TARGET_KEYS = {
    "url",
    "model",
    "api_key_env",
    "instruction",
    "headers",
    "serve",
    "gpu_cost_per_hour",
    "dialect",
}


@dataclass(frozen=True)
class TargetSpec:
    name: str
    url: str
    model: str | None = None
    api_key_env: str | None = None  # the variable holding its key; the key itself is never kept
    instruction: str | None = None  # queries sent as "Instruct: {instruction}\nQuery:{text}"
    headers: dict[str, str] = field(default_factory=dict)  # extra HTTP headers, never recorded
    serve: dict[str, Any] = field(default_factory=dict)  # `embload serve` options for --serve
    gpu_cost_per_hour: float | None = None  # USD: its runs' cost per 1M tokens
    dialect: Dialect | None = None  # the API it speaks, when its url does not say

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


def load_targets(config: Path | None, overrides: list[str]) -> dict[str, TargetSpec]:
    """Built-ins, then embload.toml's `[targets.NAME]`, then `--target NAME=URL`."""
    raw: dict[str, dict[str, Any]] = {k: dict(v) for k, v in BUILTIN_TARGETS.items()}
    path = config_path(config)
    tables = read_config(path).get("targets", {})
    for name, table in tables.items():
        unknown = set(table) - _TARGET_KEYS
        if unknown:
            listed = ", ".join(sorted(unknown))
            raise UsageError(f"target {name!r} in {path}: unknown keys {listed}")
        raw[name] = {**raw.get(name, {}), **table}
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise UsageError(f"--target {item!r} is not NAME=URL")
        raw[name] = {**raw.get(name, {}), "url": url}
    specs = {}
    for name, table in raw.items():
        if "url" not in table:
            raise UsageError(f"target {name!r} has no url")
        if not isinstance(table.get("serve", {}), dict):
            raise UsageError(f"target {name!r}: serve is a table of `embload serve` options")
        specs[name] = TargetSpec(
            name=name,
            url=str(table["url"]),
            model=table.get("model"),
            api_key_env=table.get("api_key_env"),
            instruction=table.get("instruction"),
            headers={str(k): str(v) for k, v in table.get("headers", {}).items()},
            serve=dict(table.get("serve", {})),
            gpu_cost_per_hour=_price(name, table.get("gpu_cost_per_hour")),
            dialect=_dialect(name, table.get("dialect")),
        )
    return specs


def _dialect(name: str, value: object) -> Dialect | None:
    if value is None or value in DIALECTS:
        return value
    raise UsageError(f"target {name!r}: dialect is one of {', '.join(DIALECTS)}")


def _price(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"target {name!r}: gpu_cost_per_hour is USD per hour, a number >= 0")
    return float(value)
