"""The `embload` command's machinery: the typer app, one flag per declared option, and the one
place an error becomes its line and its exit code.

Every command's options are declared once (config/settings.py, config/commands.py): the flag,
its help, its EMBLOAD_* variable and its embload.toml key come from that declaration, resolved
flags > environment > embload.toml > defaults. Heavy imports (torch, locust, the server,
numpy, matplotlib) happen inside the commands that need them, so `embload --help` is instant.
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.console import Console

from loadtest import __version__
from loadtest.config.base import Options
from loadtest.config.options import OptionSpec, env_var, options, resolve
from loadtest.core.errors import EmbloadError, Interrupted

app = typer.Typer(
    help="Load-test and profile text-embedding endpoints (OpenAI /v1/embeddings).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold brackets and backslashes, not markup
)
F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S", bound=Options)
Config = Annotated[
    Path | None,
    typer.Option(help="embload.toml to read (default: $EMBLOAD_CONFIG, else ./embload.toml)"),
]


@contextlib.contextmanager
def exits() -> Iterator[None]:
    """Where every command's errors become one line on stderr and its exit code: an
    EmbloadError's own."""
    try:
        yield
    except EmbloadError as exc:
        raise fail(exc) from None


@contextlib.contextmanager
def signals_stop_the_load() -> Iterator[None]:
    """While a command runs load (run, sweep, compare): SIGINT and SIGTERM stop it as
    driver/stopping.py says; before and after, they are Python's as usual."""
    from loadtest.driver.stopping import STOP

    with STOP.installed():
        yield


def fail(exc: EmbloadError) -> typer.Exit:
    err = Console(stderr=True)
    if isinstance(exc, Interrupted):  # not an error: what the user asked for
        err.print(f"[yellow]{exc.line}[/yellow]", highlight=False, soft_wrap=True)
    else:
        err.print(f"[red]error:[/red] {exc.line}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def settings(cls: type[S], flags: dict[str, Any], config: Path | None) -> S:
    """The command's settings from its flags, EMBLOAD_* and embload.toml; SettingsError names
    the layer a bad value came from."""
    return resolve(cls, flags, config)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return ",".join(value) if isinstance(value, list) else f"{value}"


def _parameter(cls: type[Options], spec: OptionSpec) -> inspect.Parameter:
    default = "" if spec.default in (None, [], {}) else f"default {_shown(spec.default)}; "
    help_text = f"{spec.help} ({default}{env_var(cls, spec)})"
    decls = [f"{spec.flag}/--no-{spec.flag[2:]}"] if spec.kind is bool else [spec.flag]
    kind: Any = list[str] if spec.kind is list else spec.kind
    option = typer.Option(*decls, help=help_text, show_default=False)
    annotation = cast(Any, Annotated)[kind | None, option]  # built at run time, from the spec
    return inspect.Parameter(spec.field, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)


def with_options(cls: type[Options]) -> Callable[[F], F]:
    """Give a command one flag per option of `cls`; they arrive in its **flags (None: unset)."""

    def wrap(command: F) -> F:
        # typer reads Annotated extras (help texts) from the signature: resolve them here.
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(command).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        # The command's own options first (target, scenario...), those it shares after.
        specs = sorted(options(cls), key=lambda spec: spec.field not in cls.__annotations__)
        generated = [_parameter(cls, spec).replace(default=None) for spec in specs]
        command.__signature__ = inspect.Signature([*own, *generated])  # type: ignore[attr-defined]
        return command

    return wrap


def _version(value: bool) -> None:
    if value:
        print(f"embload {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """embload: latency, throughput and correctness of embedding endpoints under load."""
