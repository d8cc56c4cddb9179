"""The targets `embload compare`, `quality` and `probe` know by name: built in (`qwen` at
:30000, `bge` at :30001, as sglang users run them), from embload.toml (`[targets.NAME]`: url,
model, api_key_env, instruction, headers, gpu_cost_per_hour, dialect; how queries and documents
are marked: query_prefix, document_prefix, input_type; how `--serve` starts it: a `serve` table
of `embload serve` options, or a `command` with its health path, ready_timeout and env), or
`--target NAME=URL`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.config.options import config_path, read_config
from loadtest.core.dialects import DIALECTS, Dialect
from loadtest.core.errors import UsageError
from loadtest.core.marking import Marking, preset_marking

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
    "query_prefix",
    "document_prefix",
    "input_type",
    "command",
    "health",
    "ready_timeout",
    "env",
}
_READY_TIMEOUT_S = 180.0


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
    query_prefix: str | None = None  # put before each query (e5: "query: ")
    document_prefix: str | None = None  # put before each document (e5: "passage: ")
    input_type: tuple[str, str] | None = None  # (query, document): the request's input_type
    command: str | None = None  # how `--serve` starts a server that is not embload's: {port}
    health: str = "/health"  # the path that answers 2xx once it is ready
    ready_timeout_s: float = _READY_TIMEOUT_S
    env: dict[str, str] = field(default_factory=dict)  # the command's extra environment

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    @property
    def servable(self) -> bool:
        """Whether `--serve` can start it: a bundled-server table or a command."""
        return bool(self.serve) or self.command is not None

    def marking(self, model: str | None) -> Marking:
        """Its queries' and documents' marks: its own keys where it has any, else the preset
        of its model's family (`model`: what the server says it runs, when the target does not
        name it); Cohere's API takes the role as input_type by default."""
        if self.instruction or self.query_prefix or self.document_prefix or self.input_type:
            query_type, document_type = self.input_type or (None, None)
            return Marking(
                instruction=self.instruction,
                query_prefix=self.query_prefix or "",
                document_prefix=self.document_prefix or "",
                query_input_type=query_type,
                document_input_type=document_type,
            )
        if self.dialect == "cohere":
            return Marking(query_input_type="search_query", document_input_type="search_document")
        return preset_marking(self.model or model)


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
            query_prefix=_text(name, "query_prefix", table.get("query_prefix")),
            document_prefix=_text(name, "document_prefix", table.get("document_prefix")),
            input_type=_input_type(name, table.get("input_type")),
            command=_text(name, "command", table.get("command")),
            health=_text(name, "health", table.get("health")) or "/health",
            ready_timeout_s=_seconds(name, table.get("ready_timeout")),
            env=_strings(name, "env", table.get("env", {})),
        )
    return specs


def _text(name: str, key: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"target {name!r}: {key} is a string")


def _strings(name: str, key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UsageError(f"target {name!r}: {key} is a table of strings")
    return {str(k): str(v) for k, v in value.items()}


def _input_type(name: str, value: object) -> tuple[str, str] | None:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"query", "document"}:
        return str(value["query"]), str(value["document"])
    raise UsageError(
        f'target {name!r}: input_type is a table: {{ query = "...", document = "..." }}'
    )


def _seconds(name: str, value: object) -> float:
    if value is None:
        return _READY_TIMEOUT_S
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"target {name!r}: ready_timeout is seconds, a number > 0")
    return float(value)


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
