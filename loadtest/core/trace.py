"""A trace: a file of requests, one a line, replayed at their times (docs/traces.md).

A line gives its time, `t` (seconds from the trace's start) or `timestamp` (Unix seconds or ISO
8601: the first line's is t = 0), and its inputs: `texts` or `text` to send as they are, or
`tokens` (each input's length in tokens, with an optional `inputs` count) for texts drawn from
the corpus at replay, of the line's `category` where it gives one. Times never go back: a trace
is replayed streaming, in order. Other keys are ignored.

Pure: the store reads the file (store/traces.py) and hands each parsed line here, with its
number, so every error names the file, the line and the field.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from loadtest.core.errors import TraceError
from loadtest.core.types import Payload

# Characters per token of common subword tokenizers (BPE and WordPiece vocabularies of 30k-150k
# entries) on each kind of text: approximations for sizing texts, never measurements. The
# server's usage.prompt_tokens, in a run's records, gives the truth.
CHARS_PER_TOKEN: dict[str, float] = {"en": 4.0, "code": 3.2, "zh": 1.4, "mixed": 2.4}
OTHER_CHARS_PER_TOKEN = 3.0  # a user corpus's own categories, or none


def chars_per_token(category: str | None) -> float:
    return CHARS_PER_TOKEN.get(category or "", OTHER_CHARS_PER_TOKEN)


def tokens_for(chars: float, category: str | None) -> int:
    """About how many tokens `chars` characters of `category` make (1 at least)."""
    return max(1, round(chars / chars_per_token(category)))


@dataclass(frozen=True, slots=True)
class TraceRequest:
    """One line of a trace: when (seconds from its start) and what to send. `texts` are sent as
    they are; without them `tokens` sizes texts drawn from the corpus (with them: their recorded
    lengths, kept as given)."""

    line: int  # 1-based, as an editor counts (a CSV's header is line 1)
    t_s: float
    texts: tuple[str, ...] | None
    tokens: tuple[int, ...] | None
    category: str | None = None

    def __post_init__(self) -> None:
        if self.texts is None and self.tokens is None:
            raise ValueError("a trace request has texts or tokens")

    @property
    def inputs(self) -> int:
        return len(self.texts) if self.texts is not None else len(self.tokens or ())


def _positive_ints(value: object) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        return None
    return tuple(value)


def _csv_cell(key: str, cell: str) -> object:
    """A CSV cell as the JSON line would hold it; text that cannot be read stays text, for the
    parser to name the field."""
    if key in ("texts", "tokens"):
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    if key in ("t", "timestamp", "inputs"):
        try:
            number = float(cell)
        except ValueError:
            return cell  # an ISO timestamp, or a mistake
        return int(number) if key == "inputs" and number.is_integer() else number
    return cell


class TraceParser:
    """Turns each line of one trace, in order, into a TraceRequest; keeps the timestamp origin
    and the last time, since a trace never goes back."""

    def __init__(self, source: str) -> None:
        self.source = source  # the file, as the user named it
        self._origin_s: float | None = None
        self._last_s: float | None = None

    def error(self, line: int, message: str) -> TraceError:
        return TraceError(f"{self.source} line {line}: {message}")

    def parse_csv(self, row: Mapping[str, str], line: int) -> TraceRequest:
        """A CSV row keyed by the header; empty cells are absent."""
        return self.parse({k: _csv_cell(k, v) for k, v in row.items() if k and v != ""}, line)

    def parse(self, row: object, line: int) -> TraceRequest:
        if not isinstance(row, Mapping):
            raise self.error(line, f"not a JSON object but {type(row).__name__}")
        if None in row.values():  # null is a field the line does not give, as an empty cell
            row = {k: v for k, v in row.items() if v is not None}
        t_s, field = self._time(row, line)
        if self._last_s is not None and t_s < self._last_s:
            was, now = round(self._last_s, 6), round(t_s, 6)
            raise self.error(line, f'"{field}" goes back in time ({now!r} after {was!r})')
        self._last_s = t_s
        category = row.get("category")
        if category is not None and (not isinstance(category, str) or not category):
            raise self.error(line, '"category" must be a name, e.g. zh, en, code, mixed')
        texts, tokens = self._inputs(row, line)
        return TraceRequest(line, t_s, texts, tokens, category)

    def _time(self, row: Mapping[str, object], line: int) -> tuple[float, str]:
        """Seconds from the trace's start, and the field they came from."""
        if "t" in row:
            t = row["t"]
            if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t < math.inf:
                raise self.error(line, '"t" must be a number of seconds, 0 or more')
            return float(t), "t"
        if "timestamp" not in row:
            raise self.error(line, 'no time: give "t" (seconds) or "timestamp"')
        at = self._timestamp(row["timestamp"], line)
        if self._origin_s is None:
            self._origin_s = at
        return at - self._origin_s, "timestamp"

    def _timestamp(self, value: object, line: int) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        if isinstance(value, str):
            try:
                at = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:  # no offset given: read as UTC, so the differences hold whatever the zone
                return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
        raise self.error(
            line, '"timestamp" must be Unix seconds or ISO 8601 (2026-11-23T10:00:00.5Z)'
        )

    def _inputs(
        self, row: Mapping[str, object], line: int
    ) -> tuple[tuple[str, ...] | None, tuple[int, ...] | None]:
        if "texts" in row and "text" in row:
            raise self.error(line, 'give "texts" or "text", not both')
        texts: tuple[str, ...] | None = None
        if "texts" in row:
            given = row["texts"]
            if (
                not isinstance(given, list)
                or not given
                or not all(isinstance(s, str) for s in given)
            ):
                raise self.error(line, '"texts" must be a list of strings, one at least')
            texts = tuple(given)
        elif "text" in row:
            if not isinstance(row["text"], str):
                raise self.error(line, '"text" must be a string')
            texts = (row["text"],)
        inputs = row.get("inputs")
        if inputs is not None and (
            isinstance(inputs, bool) or not isinstance(inputs, int) or inputs < 1
        ):
            raise self.error(line, '"inputs" must be a whole number, 1 or more')
        if inputs is not None and texts is not None and inputs != len(texts):
            raise self.error(line, f'"inputs" is {inputs} but the line has {len(texts)} texts')
        if "tokens" not in row:
            if texts is None and inputs is not None:
                raise self.error(line, '"inputs" needs "tokens": each input\'s length in tokens')
            if texts is None:
                raise self.error(line, 'no inputs: give "texts", "text", or "tokens" (lengths)')
            return texts, None
        count = inputs if inputs is not None else len(texts) if texts is not None else None
        tokens = _positive_ints(row["tokens"])
        if tokens is None or (count is not None and len(tokens) != count):
            one_per = f" (inputs is {count})" if count is not None else ""
            raise self.error(
                line, f'"tokens" must be a list of positive integers, one per input{one_per}'
            )
        return texts, tokens


def trace_line(request: TraceRequest) -> dict[str, object]:
    """The JSON object of a request's line: `t` to the microsecond."""
    row: dict[str, object] = {"t": round(request.t_s, 6)}
    if request.texts is not None:
        row["texts"] = list(request.texts)
    else:
        row["inputs"] = request.inputs
    if request.tokens is not None:
        row["tokens"] = list(request.tokens)
    if request.category is not None:
        row["category"] = request.category
    return row


def pools_by_category(items: Sequence[Payload]) -> dict[str, tuple[Payload, ...]]:
    """A corpus's texts by category: what a TextMaker draws from."""
    pools: dict[str, list[Payload]] = {}
    for item in items:
        pools.setdefault(item.category, []).append(item)
    return {key: tuple(pool) for key, pool in sorted(pools.items())}


class TextMaker:
    """Texts of given lengths in tokens, cut from the corpus: a category's texts (any
    category's, where none is given) joined until long enough, then cut to the characters the
    category's CHARS_PER_TOKEN makes of the tokens. The same seed makes the same texts."""

    def __init__(self, pools: Mapping[str, Sequence[Payload]], seed: int) -> None:
        self._pools = pools  # kept as given: a replay may make a maker per line
        self._keys = sorted(key for key, pool in pools.items() if pool)
        if not self._keys:
            raise ValueError("a TextMaker needs texts to cut from")
        self._rng = random.Random(f"embload-trace-texts-{seed}")

    def text(self, tokens: int, category: str | None = None) -> str:
        key = self._rng.choice(self._keys) if category is None else category
        pool = self._pools.get(key)
        if not pool:
            raise ValueError(
                f"the corpus has no texts of category {key!r} (it has {', '.join(self._keys)})"
            )
        wanted = max(1, round(tokens * chars_per_token(key)))
        joint = "" if key == "zh" else " "  # Chinese runs on without spaces
        parts, have = [], 0
        while have < wanted:
            part = self._rng.choice(pool).text
            parts.append(part)
            have += len(part) + len(joint)
        return joint.join(parts)[:wanted]

    def texts(self, tokens: Sequence[int], category: str | None = None) -> tuple[str, ...]:
        return tuple(self.text(n, category) for n in tokens)

    def for_request(self, request: TraceRequest) -> tuple[str, ...]:
        """What a line sends: its own texts, else texts made to its token lengths; a category
        the corpus lacks is a ValueError naming the line."""
        if request.texts is not None:
            return request.texts
        try:
            return self.texts(request.tokens or (), request.category)
        except ValueError as exc:
            raise ValueError(f"line {request.line}: {exc}") from None
