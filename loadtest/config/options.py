"""How the options declared in settings.py are presented and resolved.

Each option's spec (its flag, variable and embload.toml key, for the CLI, Locust and the docs);
the configuration file; and the layers, flags > the hand-over variable from a parent process >
EMBLOAD_* > embload.toml > defaults, each replacing what a lower one set. Every error is one
line that names the layer it came from (`--users`, `EMBLOAD_USERS`, `embload.toml [run] users`).
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_settings import EnvSettingsSource

from loadtest.config.base import Options
from loadtest.core.errors import SettingsError

CONFIG_FILE = Path("embload.toml")
CONFIG_ENV = "EMBLOAD_CONFIG"


@dataclass(frozen=True)
class OptionSpec:
    """One option as the command line, Locust and the documentation present it."""

    field: str  # the attribute
    name: str  # flags, variables and embload.toml keys derive from this
    help: str
    kind: type  # bool, int, float, str, Path or list (of str); text options are str
    default: Any
    secret: bool
    choices: tuple[str, ...] | None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _kind(annotation: Any) -> tuple[type, tuple[str, ...] | None]:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Annotated:
        return _kind(args[0])
    if get_origin(annotation) is Literal:
        return str, tuple(str(a) for a in get_args(annotation))
    if get_origin(annotation) is list:
        return list, None
    if get_origin(annotation) is dict:
        return str, None  # a JSON object, as text
    if args and len(args) == 1 and get_origin(annotation) is not None:  # X | None
        return _kind(args[0])
    if annotation is SecretStr:
        return str, None
    return annotation, None


def options(cls: type[Options]) -> list[OptionSpec]:
    specs = []
    for field_name, field in cls.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        alias = field.validation_alias
        name = str(alias.choices[0]) if isinstance(alias, AliasChoices) else field_name
        kind, choices = _kind(field.annotation)
        specs.append(
            OptionSpec(
                field=field_name,
                name=name,
                help=field.description or "",
                kind=str if extra.get("text") else kind,
                default=field.default,
                secret=bool(extra.get("secret")),
                choices=choices,
            )
        )
    return specs


def env_var(cls: type[Options], spec: OptionSpec) -> str:
    return str(cls.model_config.get("env_prefix", "")) + spec.name.upper()


def config_path(config: Path | None) -> Path | None:
    """--config, else $EMBLOAD_CONFIG, else ./embload.toml where there is one."""
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"config file {config} does not exist")
        return config
    if os.environ.get(CONFIG_ENV):
        return config_path(Path(os.environ[CONFIG_ENV]))
    return CONFIG_FILE if CONFIG_FILE.is_file() else None


def read_config(path: Path | None) -> dict[str, Any]:
    """The whole embload.toml, or {} without one."""
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None


S = TypeVar("S", bound=Options)


def _toml_keys(table: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).replace("-", "_"): v for k, v in table.items()}


def _attributes(cls: type[Options]) -> dict[str, str]:
    """Every name an option answers to (`timeout`, `timeout_s`) to its attribute."""
    return {n: spec.field for spec in options(cls) for n in (spec.field, spec.name)}


def _by_field(cls: type[Options], layer: Mapping[str, Any]) -> dict[str, Any]:
    """A layer's values keyed by attribute; keys that are no option stay, for validation to
    refuse."""
    names = _attributes(cls)
    return {names.get(k, k): v for k, v in layer.items()}


def _where(cls: type[Options], label: str, key: str) -> str:
    """An option in the words of the layer that set it: --users, EMBLOAD_USERS, [run] users."""
    spec = next((s for s in options(cls) if s.field == key), None)
    if spec is None:
        return f"{label} {key}"
    if label == "flag":
        return spec.flag
    return env_var(cls, spec) if label == "variable" else f"{label} {spec.name}"


def resolve(cls: type[S], flags: Mapping[str, Any] | None = None, config: Path | None = None) -> S:
    """Flags (None: not given) > the hand-over variable > EMBLOAD_* > embload.toml > defaults.

    A layer replaces what a lower one set for an option (a dict of headers too, not merged)."""
    path = config_path(config)
    toml = _by_field(cls, _toml_keys(read_config(path).get(cls.TABLE, {})))
    if cls.TABLE_OWNER is not None:  # keys of the table's owner alone are not for us
        owner, as_owner = cls.TABLE_OWNER, _attributes(cls.TABLE_OWNER)
        toml = {
            k: v
            for k, v in toml.items()
            if k in cls.model_fields or as_owner.get(k, k) not in owner.model_fields
        }
    try:
        env = _by_field(cls, EnvSettingsSource(cls)())  # parses JSON values, e.g. headers
    except ValueError as exc:  # a variable whose JSON does not parse
        raise SettingsError(f"{cls.model_config.get('env_prefix')}*: {exc}") from None
    transfer: dict[str, Any] = {}
    if cls.TRANSFER and os.environ.get(cls.TRANSFER):
        try:
            transfer = json.loads(os.environ[cls.TRANSFER])
        except ValueError:
            raise SettingsError(f"{cls.TRANSFER} is not a JSON object of settings") from None
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    layers = (
        (given, "flag"),
        (transfer, str(cls.TRANSFER)),
        (env, "variable"),
        (toml, f"{path or CONFIG_FILE} [{cls.TABLE}]"),
    )
    merged = {k: v for layer, _ in reversed(layers) for k, v in layer.items()}
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = _message(error)
        if not error["loc"]:  # a rule across options: no one layer to name
            raise SettingsError(message) from None
        key = str(error["loc"][0])
        label = next((lab for lay, lab in layers if key in lay), "flag")
        if error["type"] == "extra_forbidden":
            raise SettingsError(f"{label}: unknown option {key!r}") from None
        raise SettingsError(f"{_where(cls, label, key)}: {message}") from None


def _message(error: Any) -> str:
    """pydantic's words for a bad value, with a choice's options spelled as a user types them."""
    if error["type"] == "literal_error":
        choices = error.get("ctx", {}).get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"unknown value {error['input']!r}; pick {choices}"
    return str(error["msg"]).removeprefix("Value error, ")


def override(settings: S, table: Mapping[str, Any], where: str) -> S:
    """`settings` with `table`'s options (embload.toml keys) on top of every other layer, for
    tables that are more specific than them all (a compare target's own `serve`)."""
    cls = type(settings)
    by_name = _attributes(cls)
    values = {}
    for key, value in _toml_keys(table).items():
        if key not in by_name:
            raise SettingsError(f"{where}: unknown option {key!r}")
        values[by_name[key]] = value
    try:
        return cls.model_validate({**settings.model_dump(), **values})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{where}{' ' + key if key else ''}: {message}") from None


def command_line(settings: Options) -> list[str]:
    """The flags that set `settings` apart from the defaults, secrets left out (for reports)."""
    args: list[str] = []
    defaults = type(settings).model_validate({})
    for spec in options(type(settings)):
        value = getattr(settings, spec.field)
        if spec.secret or value == getattr(defaults, spec.field) or value is None:
            continue
        if isinstance(value, bool):
            args.append(spec.flag if value else f"--no-{spec.flag[2:]}")
        else:
            args += [spec.flag, ",".join(value) if isinstance(value, list) else f"{value}"]
    return args


def _argparse_default(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    return str(value) if isinstance(value, Path) else value


def locust_arguments(parser: Any, cls: type[Options]) -> None:
    """`--embload-*` on Locust's parser, each defaulting to its resolved value (variables,
    embload.toml, the child's hand-over), so Locust's web UI shows what a test will use."""
    try:
        resolved = resolve(cls)
    except SettingsError as exc:
        print(f"embload: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for spec in options(cls):
        parser.add_argument(
            f"--embload-{spec.flag[2:]}",
            type=spec.kind if spec.kind in (int, float) else str,
            default=_argparse_default(getattr(resolved, spec.field)),
            help=spec.help,
            choices=spec.choices,
            is_secret=spec.secret,
        )


def settings_from(parsed: Any, cls: type[S]) -> S:
    """The test's settings from Locust's parsed options (flags, or what the web UI sent).
    An empty field (the web UI's way of saying none) leaves the option at its default."""
    specs = {spec.field: spec for spec in options(cls)}
    values = {field: getattr(parsed, "embload_" + spec.name) for field, spec in specs.items()}
    try:
        return cls.model_validate({k: v for k, v in values.items() if v not in ("", None)})
    except ValidationError as exc:
        error = exc.errors()[0]
        spec = specs[str(error["loc"][0])] if error["loc"] else None
        where = f"--embload-{spec.flag[2:]}" if spec else "--embload-* options"
        raise SystemExit(f"embload: {where}: {error['msg']}") from None
