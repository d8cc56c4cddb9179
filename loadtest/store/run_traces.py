"""A past run's traffic as a trace (`embload trace from-run`), to replay it against another stack.

Each record is a line, in start-time order: its `t` the record's start time (when it was due,
in an open loop) less the first's. Its texts are drawn again as the run drew them: each Locust
user draws from PayloadSampler(pools, user_seed(seed, user)), one draw per request in its own
order, so the run's scenario, corpus and seed give back every text. The draws are checked
against every record's character count before any line is written; one that differs (a corpus
that changed or is gone, a scenario not shipped) makes the trace `inputs` and `tokens` instead:
the request's usage.prompt_tokens (else its chars by core/trace.py's CHARS_PER_TOKEN) split over
its inputs. A run that replayed a trace takes each line's texts from that trace, when it is here
with the same SHA-256.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loadtest.core.columns import RecordColumns
from loadtest.core.errors import NotARun, UsageError
from loadtest.core.payloads import SCENARIOS, PayloadSampler, scenario_pools, user_seed
from loadtest.core.results import RunSummary
from loadtest.core.trace import TraceRequest, tokens_for
from loadtest.data import corpus
from loadtest.store.files import read_summary
from loadtest.store.table import read_columns
from loadtest.store.traces import file_sha256, read_trace

Inputs = tuple[tuple[str, ...] | None, tuple[int, ...] | None]  # a line's texts and tokens


@dataclass(frozen=True)
class RunTrace:
    """A run's requests as trace lines (iterate it; each pass reads them again). `exact`: every
    line carries the very texts the run sent; else `reason`, a sentence, says why some or all
    lines give token lengths instead. `notes`: what a replay should know besides."""

    run_dir: Path
    lines: int
    exact: bool
    reason: str | None
    notes: tuple[str, ...]
    requests: Callable[[], Iterator[TraceRequest]] = field(repr=False, compare=False)

    def __iter__(self) -> Iterator[TraceRequest]:
        return self.requests()


def _all_records(run_dir: Path) -> RecordColumns:
    # A warm-up's requests drew texts too; a read_columns that leaves them out is asked not to.
    keep = {"warmup": True} if "warmup" in inspect.signature(read_columns).parameters else {}
    return read_columns(run_dir, timing=False, **keep)


def _each(order: np.ndarray) -> Iterator[int]:
    """The positions as ints, a block at a time: ten million of them never all at once."""
    for at in range(0, len(order), 1 << 16):
        yield from order[at : at + (1 << 16)].tolist()


def _estimated(cols: RecordColumns, i: int) -> tuple[int, ...]:
    """The record's tokens split evenly over its inputs (the first ones take the remainder)."""
    n, reported = int(cols.inputs[i]), float(cols.prompt_tokens[i])
    category = _category(cols, i)
    total = round(reported) if math.isfinite(reported) else tokens_for(cols.chars[i], category)
    base, extra = divmod(max(total, n), n)
    return tuple(base + (j < extra) for j in range(n))


def _category(cols: RecordColumns, i: int) -> str | None:
    category = cols.category.at(i)
    return None if category in (None, "multi") else category


def _sampled(
    summary: RunSummary, cols: RecordColumns, order: np.ndarray
) -> tuple[Callable[[], Iterator[Inputs]] | None, str | None]:
    """The run's draws again, in `order`; or why they cannot be made."""
    scenario = SCENARIOS.get(summary.scenario)
    if scenario is None:
        return None, f"the run's scenario {summary.scenario!r} is not a shipped one"
    builtin = summary.corpus == "builtin"
    try:
        pools = scenario_pools(
            scenario, corpus(None if builtin else Path(summary.corpus)), user_corpus=not builtin
        )
    except (UsageError, ValueError) as exc:
        return None, f"the run's corpus cannot be drawn from again ({exc})"
    pairs = cols.worker.codes.astype(np.int64) << 32 | cols.user.astype(np.int64)
    _, key = np.unique(pairs, return_inverse=True)  # a user is (worker, user)
    by_user = np.argsort(key, kind="stable")  # each user's records in the file's order
    start = np.searchsorted(key[by_user], np.arange(int(key.max()) + 1))
    rank = np.empty_like(by_user)
    rank[by_user] = np.arange(len(by_user)) - start[key[by_user]]

    def draws() -> Iterator[Inputs]:
        samplers: dict[int, PayloadSampler] = {}
        drawn: dict[int, int] = {}
        ahead: dict[tuple[int, int], tuple[str, ...]] = {}  # drawn before their turn came
        for i in _each(order):
            k, r = int(key[i]), int(rank[i])
            if k not in samplers:
                user = int(cols.user[by_user[start[k]]])
                samplers[k], drawn[k] = PayloadSampler(pools, user_seed(summary.seed, user)), 0
            while drawn[k] <= r:  # a user's requests in start-time order, not in its own
                n = int(cols.inputs[by_user[start[k] + drawn[k]]])
                ahead[k, drawn[k]] = tuple(p.text for p in samplers[k].draw(n))
                drawn[k] += 1
            yield ahead.pop((k, r)), None

    return draws, None


def _traced(
    summary: RunSummary, cols: RecordColumns, order: np.ndarray, run_dir: Path
) -> tuple[Callable[[], Iterator[Inputs]] | None, str | None]:
    """The lines of the trace the run replayed, matched to its records in `order`."""
    traced = getattr(summary, "trace", None)
    given = getattr(traced, "path", None) or ""
    sha256 = getattr(traced, "sha256", None)
    found = [p for p in (Path(given), run_dir / Path(given).name) if given and p.is_file()]
    path = next((p for p in found if file_sha256(p) == sha256), None)
    if path is None:
        return None, f"the trace it replayed ({given}) is not here with the same SHA-256"
    lines = getattr(cols, "trace_line", None)  # each record's line, where the records say

    def matches(line: TraceRequest, i: int) -> bool:
        if lines is not None and math.isfinite(lines[i]):
            return line.line == int(lines[i])
        chars = None if line.texts is None else sum(map(len, line.texts))
        return line.inputs == cols.inputs[i] and chars in (None, cols.chars[i])

    def copied() -> Iterator[Inputs]:
        source = read_trace(path)
        for i in _each(order):
            line = next(source, None)
            while line is not None and not matches(line, i):  # a line dropped, not sent
                line = next(source, None)
            yield (None, None) if line is None else (line.texts, line.tokens)

    return copied, None


def _check(cols: RecordColumns, order: np.ndarray, inputs: Iterator[Inputs]) -> tuple[int, str]:
    """Lines given as tokens, and the first record whose texts do not match (or "")."""
    as_tokens = 0
    for i, (texts, tokens) in zip(_each(order), inputs, strict=True):
        if texts is not None and sum(map(len, texts)) == cols.chars[i]:
            continue
        if texts is None and tokens is not None and len(tokens) == cols.inputs[i]:
            as_tokens += 1
            continue
        got = (
            "no line of its trace matches it"
            if texts is None
            else f"the texts drawn again have {sum(map(len, texts))}"
        )
        who = f"record {i + 1} (user {cols.user[i]} of {cols.worker.at(i)})"
        return as_tokens, f"{who} sent {cols.chars[i]} chars where {got}"
    return as_tokens, ""


def trace_from_run(run_dir: Path) -> RunTrace:
    """The trace of a past run: its texts drawn again and checked, else token lengths."""
    summary = read_summary(run_dir)
    cols = _all_records(run_dir)
    if not len(cols):
        raise NotARun(f"{run_dir} has no records to make a trace of")
    order = np.argsort(cols.start_time, kind="stable")  # ties keep the file's order
    if getattr(summary, "trace", None):  # a replay: the texts came from its trace
        made, reason = _traced(summary, cols, order, run_dir)
    else:
        made, reason = _sampled(summary, cols, order)
    as_tokens = 0
    if made is not None:
        as_tokens, mismatch = _check(cols, order, made())
        if mismatch:
            made, reason = None, mismatch
        elif as_tokens:
            reason = f"{as_tokens:,} lines of the trace it replayed give token lengths: copied"
    if made is None:
        reason = f"{reason}; the lines give inputs and token lengths instead"
    notes: tuple[str, ...] = ()
    if summary.instruction:
        notes = ("the run put an instruction before each text; the lines hold the texts alone",)
    start_s = float(cols.start_time[order[0]])

    def requests() -> Iterator[TraceRequest]:
        given = made() if made is not None else None
        for line, i in enumerate(_each(order), start=1):
            texts, tokens = next(given) if given is not None else (None, _estimated(cols, i))
            t_s = float(cols.start_time[i]) - start_s
            yield TraceRequest(line, t_s, texts, tokens, _category(cols, i))

    exact = made is not None and not as_tokens
    return RunTrace(run_dir, len(cols), exact, None if exact else reason, notes, requests)
