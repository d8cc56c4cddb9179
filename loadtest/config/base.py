"""How an option is declared: `option()`, the value types typed as text (durations, percents,
lists), and `Options`, the base of every command's settings (config/settings.py,
config/commands.py). options.py turns the declarations into flags and resolves their layers.

A leaf: pydantic only, so the bundled server can share it without the load side.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    field_serializer,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def parse_duration(value: object) -> object:
    """`30s`, `2m`, `1h30m` or plain seconds (as Locust's -t takes them) to seconds."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text)
    if not text or not parts or not any(parts.groups()):
        raise ValueError(f"{value!r} is not a duration like 30s, 2m or 1h30m")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + s


def warmup_text(value: object) -> object:
    """`--warmup`: `200` (a number of requests) stays; a span (`10s`, `2m`) becomes `600.0s`."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text.isdigit():
        return str(int(text))
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a span (10s, 2m) nor a number of requests (200)"
        ) from None
    return f"{seconds}s"


def percent(value: object) -> object:
    """`10%` or `0.1` to 0.1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def json_object(value: object) -> object:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
WarmupText = Annotated[str, BeforeValidator(warmup_text)]
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]


def option(
    default: Any,
    help: str,
    *,
    name: str | None = None,
    text: bool = False,
    secret: bool = False,
    **constraints: Any,
) -> Any:
    """A field that is an option. `name`: what flags, variables and embload.toml call it, where
    the attribute carries a unit (`timeout_s` is `timeout`). `text`: typed on the command line
    as text the model parses (30s, 10%, a,b). `secret`: never written, masked in Locust's UI."""
    return Field(
        default,
        description=help,
        validation_alias=AliasChoices(name) if name else None,
        json_schema_extra={"text": text, "secret": secret},
        **constraints,
    )


def history() -> Any:
    return option(
        None, "the run index (SQLite): a path, or off (default: <reports>/history.sqlite)"
    )


def duration(help: str) -> Any:
    """A length of time, typed as 30s, 2m or 1h30m; 30 s unless set."""
    return option("30s", help, name="duration", text=True, gt=0, validate_default=True)


def warmup_option(what: str) -> Any:
    """sweep's and compare's --warmup: on by default, so a cold first request (a server's lazy
    start, a first shape compiled) does not decide a P99."""
    return option(
        "2s",
        f"load before {what}'s measured part, left out of its figures: a span (2s) or a number "
        "of requests; 0 for none",
        text=True,
        validate_default=True,
    )


def _processes(value: object) -> object:
    if value in (0, "0"):
        raise ValueError("0 processes: leave --processes out for one, or give N or -1")
    return value


def processes() -> Any:
    """Locust's own --processes: a master and N worker processes on this machine."""
    return option(
        None,
        "load-generator processes: a Locust master and N workers here, -1 one per core "
        "(default: one process)",
        ge=-1,
    )


Processes = Annotated[int | None, BeforeValidator(_processes)]


class Options(BaseSettings):
    """Options of one command; TABLE is its embload.toml table, TRANSFER its hand-over variable."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        env_prefix_target="all",  # EMBLOAD_TIMEOUT, not EMBLOAD_TIMEOUT_S nor TIMEOUT
    )
    TABLE: ClassVar[str]
    TRANSFER: ClassVar[str | None] = None
    # The class whose options make up TABLE, where this one takes only some of them: a Locust
    # process (LoadSettings) reads [run] and leaves `duration` and `scenario` to `embload run`.
    TABLE_OWNER: ClassVar[type[Options] | None] = None

    def transfer_json(self) -> str:
        """The settings for a child process, secrets included: only ever for its environment."""
        return self.model_dump_json(context={"reveal": True})

    @field_serializer("*", mode="wrap")
    def _hide_secrets(self, value: Any, nxt: Any, info: Any) -> Any:
        if isinstance(value, SecretStr) and (info.context or {}).get("reveal"):
            return value.get_secret_value()
        return nxt(value)


def target() -> Any:
    return option(
        None, "OpenAI-style base URL, e.g. http://127.0.0.1:30000/v1 (or http://host:port)"
    )


def max_in_flight() -> Any:
    return option(
        512,
        "open loop: requests in flight at most (Locust's users); an arrival that finds them "
        "all busy is dropped and counted",
        ge=1,
    )


def serve() -> Any:
    return option(False, "start the bundled server on loopback ([serve] configures it)")


def serve_port() -> Any:
    return option(30000, "port for --serve", ge=1, le=65535)


def _numbers(value: object) -> object:
    """`10,20,40` to a list; a number alone to a list of one."""
    if isinstance(value, int | float):
        return [value]
    return _comma_list(value)


Rates = Annotated[list[Annotated[float, Field(gt=0)]], NoDecode, BeforeValidator(_numbers)]
Counts = Annotated[list[Annotated[int, Field(ge=1)]], NoDecode, BeforeValidator(_numbers)]
