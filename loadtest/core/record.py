"""One request's record, declared once: `RecordRow`'s fields, each with its type, unit and meaning.

Everything else derives from this declaration: the load path's in-memory row (a NamedTuple:
named access at a tuple's cost), the keys of records.jsonl, the columns of records.parquet and
of every export (the same flat names in every file), the arrays of RecordColumns, and the JSON
Schema `embload schema records` prints. A field's `Col` says how it is stored: `file`, its
type in records.parquet; `column`, its numpy dtype in memory ("code" for strings held as
integer codes into their distinct values). Whole numbers that may be missing (prompt_tokens)
are float32 in memory, so NaN can say "not reported" without an object per request.

RECORDS_SCHEMA_VERSION rises when a field changes meaning or goes away. Version 1 wrote the
server's clock as one positional array `server_s`; version 2 writes it as four named fields.
Fields added at the end (`warmup`, `trace_line`) read as their defaults from older files.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple

from loadtest.core.types import ErrorKind

RECORDS_SCHEMA_VERSION = 2

FileType = Literal["float64", "int16", "int32", "bool", "string"]
ColumnType = Literal["float64", "float32", "int16", "int32", "bool", "code", "error"]


@dataclass(frozen=True, slots=True)
class Col:
    """How a field is stored and what it means."""

    file: FileType
    column: ColumnType
    unit: str
    meaning: str


class RecordRow(NamedTuple):
    """What happened to one request, as records.jsonl holds it (a line per request)."""

    start_time: Annotated[
        float,
        Col("float64", "float64", "Unix s", "when sent (closed loop), when due (open loop)"),
    ]
    latency_s: Annotated[
        float, Col("float64", "float64", "s", "from start_time to the whole reply read")
    ]
    status: Annotated[int, Col("int16", "int16", "", "HTTP status; 0 when no reply arrived")]
    error: Annotated[
        ErrorKind | None,
        Col("string", "error", "", "why the request failed (an error kind); null: it succeeded"),
    ]
    error_message: Annotated[
        str | None, Col("string", "code", "", "the failure in words, the server's own if any")
    ]
    inputs: Annotated[int, Col("int32", "int32", "texts", "texts in the request")]
    chars: Annotated[int, Col("int32", "int32", "chars", "characters of those texts")]
    prompt_tokens: Annotated[
        int | None,
        Col("int32", "float32", "tokens", "usage.prompt_tokens as the server reported it"),
    ]
    category: Annotated[
        str, Col("string", "code", "", "the texts' category: zh, en, code, mixed, or mixed")
    ]
    bucket: Annotated[str, Col("string", "code", "", "the texts' length bucket")]
    user: Annotated[int, Col("int32", "int32", "", "the Locust user that sent it")]
    worker: Annotated[
        str, Col("string", "code", "", "the load-generator process: local, or worker-N")
    ]
    send_lag_s: Annotated[
        float | None,
        Col("float64", "float64", "s", "open loop: from the due time to the send (in latency_s)"),
    ] = None
    server_queue_s: Annotated[
        float | None,
        Col("float64", "float64", "s", "the server's own clock: queued (TEI's x-queue-time)"),
    ] = None
    server_tokenization_s: Annotated[
        float | None,
        Col("float64", "float64", "s", "the server's own clock: tokenizing (x-tokenization-time)"),
    ] = None
    server_inference_s: Annotated[
        float | None,
        Col("float64", "float64", "s", "the server's own clock: the model (x-inference-time)"),
    ] = None
    server_total_s: Annotated[
        float | None,
        Col("float64", "float64", "s", "the server's own clock: all of it (x-total-time)"),
    ] = None
    warmup: Annotated[
        bool, Col("bool", "bool", "", "sent during --warmup: recorded, left out of every figure")
    ] = False
    trace_line: Annotated[
        int | None,
        Col("int32", "float64", "", "a trace replay: the trace's line this request came from"),
    ] = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Field:
    """One field of the record: its name, Python type, whether it may be null, and its Col."""

    name: str
    type: type
    nullable: bool
    col: Col


def _fields() -> tuple[Field, ...]:
    hints = typing.get_type_hints(RecordRow, include_extras=True)
    out = []
    for name in RecordRow._fields:
        python, col = typing.get_args(hints[name])
        options = [a for a in typing.get_args(python) if a is not type(None)]
        out.append(Field(name, options[0] if options else python, bool(options), col))
    return tuple(out)


FIELDS: tuple[Field, ...] = _fields()
FIELD_NAMES: tuple[str, ...] = RecordRow._fields
# the server's own clock, in the order of TEI's headers (target/codec.server_clock)
SERVER_CLOCK: tuple[str, ...] = (
    "server_queue_s",
    "server_tokenization_s",
    "server_inference_s",
    "server_total_s",
)
NO_CLOCK: tuple[None, None, None, None] = (None, None, None, None)


def records_json_schema() -> dict[str, Any]:
    """The JSON Schema of one records.jsonl line (and one row of records.parquet or the CSV)."""
    from pydantic import Field as PydanticField
    from pydantic import create_model

    def described(f: Field) -> Any:
        unit = f" ({f.col.unit})" if f.col.unit and f.col.unit not in ("", "texts") else ""
        annotation: Any = f.type | None if f.nullable else f.type
        return (annotation, PydanticField(description=f"{f.col.meaning}{unit}"))

    model = create_model("Record", **{f.name: described(f) for f in FIELDS})
    schema: dict[str, Any] = model.model_json_schema()
    schema["description"] = (
        "One request, as a line of records.jsonl, a row of records.parquet, and a row of "
        "`embload export`'s CSV: the same flat names everywhere. Numbers are in the unit "
        f"their name or description gives. Records schema version {RECORDS_SCHEMA_VERSION}."
    )
    schema["version"] = RECORDS_SCHEMA_VERSION
    return schema
