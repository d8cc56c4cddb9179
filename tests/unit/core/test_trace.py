"""A trace's lines: every form a line may take, every bad line as one error naming its line and
field, the JSON a request writes, and texts made to token lengths from the corpus."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.core.errors import TraceError, UsageError
from loadtest.core.payloads import SCENARIOS, scenario_pools
from loadtest.core.trace import (
    CHARS_PER_TOKEN,
    TextMaker,
    TraceParser,
    TraceRequest,
    pools_by_category,
    tokens_for,
    trace_line,
)
from loadtest.core.types import Payload
from loadtest.data import builtin_corpus


def parse(*rows: Any) -> list[TraceRequest]:
    parser = TraceParser("trace.jsonl")
    return [parser.parse(row, n) for n, row in enumerate(rows, start=1)]


def test_texts_text_and_tokens_each_make_a_request() -> None:
    a, b, c, d = parse(
        {"t": 0, "texts": ["a", "bc"], "category": "en"},
        {"t": 0.5, "text": "one"},
        {"t": 1.25, "tokens": [12, 40, 7], "category": "zh"},
        {"t": 2, "inputs": 2, "tokens": [5, 6], "user": "ignored", "text": None},
    )
    assert a == TraceRequest(1, 0.0, ("a", "bc"), None, "en")
    assert b == TraceRequest(2, 0.5, ("one",), None, None)
    assert c == TraceRequest(3, 1.25, None, (12, 40, 7), "zh")
    assert (d.inputs, d.tokens, d.category) == (2, (5, 6), None)
    assert [r.inputs for r in (a, b, c)] == [2, 1, 3]


def test_texts_may_carry_their_recorded_token_lengths() -> None:
    (r,) = parse({"t": 0, "texts": ["a", "b"], "tokens": [3, 4]})
    assert r.texts == ("a", "b") and r.tokens == (3, 4)


@pytest.mark.parametrize(
    ("first", "second", "gap_s"),
    [
        (1_800_000_000, 1_800_000_002.5, 2.5),
        ("2026-11-23T10:00:00Z", "2026-11-23T10:00:01.250Z", 1.25),
        ("2026-11-23T10:00:00+08:00", "2026-11-23T03:00:03+01:00", 3.0),
        ("2026-11-23T10:00:00", "2026-11-23 10:01:00", 60.0),  # no offset: read as UTC
    ],
)
def test_the_first_timestamp_is_the_start(first: object, second: object, gap_s: float) -> None:
    a, b = parse({"timestamp": first, "text": "x"}, {"timestamp": second, "text": "y"})
    assert (a.t_s, b.t_s) == (0.0, pytest.approx(gap_s))


def test_t_and_timestamp_may_mix_t_winning_on_a_line_with_both() -> None:
    a, b, c = parse(
        {"timestamp": 100, "text": "x"},
        {"t": 1.0, "timestamp": 50, "text": "y"},
        {"timestamp": 103, "text": "z"},
    )
    assert [a.t_s, b.t_s, c.t_s] == [0.0, 1.0, 3.0]


BAD: list[tuple[dict[str, Any], str]] = [
    ({"text": "x"}, 'no time: give "t" (seconds) or "timestamp"'),
    ({"t": -1, "text": "x"}, '"t" must be a number of seconds, 0 or more'),
    ({"t": "soon", "text": "x"}, '"t" must be a number of seconds'),
    ({"t": True, "text": "x"}, '"t" must be a number'),
    ({"timestamp": "yesterday", "text": "x"}, '"timestamp" must be Unix seconds or ISO 8601'),
    ({"t": 0}, 'no inputs: give "texts", "text", or "tokens"'),
    ({"t": 0, "inputs": 2}, '"inputs" needs "tokens"'),
    ({"t": 0, "texts": "a"}, '"texts" must be a list of strings, one at least'),
    ({"t": 0, "texts": []}, '"texts" must be a list of strings'),
    ({"t": 0, "texts": ["a", 1]}, '"texts" must be a list of strings'),
    ({"t": 0, "text": 5}, '"text" must be a string'),
    ({"t": 0, "text": "a", "texts": ["b"]}, 'give "texts" or "text", not both'),
    ({"t": 0, "inputs": 0, "tokens": []}, '"inputs" must be a whole number, 1 or more'),
    ({"t": 0, "inputs": 2, "texts": ["a"]}, '"inputs" is 2 but the line has 1 texts'),
    (
        {"t": 0, "inputs": 3, "tokens": [1, 2]},
        '"tokens" must be a list of positive integers, one per input (inputs is 3)',
    ),
    ({"t": 0, "tokens": [1, 0]}, '"tokens" must be a list of positive integers'),
    ({"t": 0, "tokens": [1.5]}, '"tokens" must be a list of positive integers'),
    ({"t": 0, "tokens": [True]}, '"tokens" must be a list of positive integers'),
    ({"t": 0, "tokens": []}, '"tokens" must be a list of positive integers'),
    ({"t": 0, "texts": ["a"], "tokens": [1, 2]}, "one per input (inputs is 1)"),
    ({"t": 0, "text": "a", "category": 3}, '"category" must be a name'),
]


@pytest.mark.parametrize(("row", "message"), BAD, ids=[m for _, m in BAD])
def test_a_bad_line_is_one_error_naming_the_file_line_and_field(
    row: dict[str, Any], message: str
) -> None:
    parser = TraceParser("trace.jsonl")
    parser.parse({"t": 0, "text": "fine"}, 1)
    with pytest.raises(TraceError) as caught:
        parser.parse(row, 17)
    assert caught.value.line.startswith("trace.jsonl line 17: ")
    assert message in caught.value.line
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_a_line_that_is_not_an_object_is_named() -> None:
    with pytest.raises(TraceError, match=r"^t\.jsonl line 2: not a JSON object but list$"):
        TraceParser("t.jsonl").parse([1, 2], 2)


def test_time_never_goes_back() -> None:
    parser = TraceParser("trace.jsonl")
    parser.parse({"t": 13.0, "text": "a"}, 8)
    parser.parse({"t": 13.0, "text": "same time is fine"}, 9)
    with pytest.raises(TraceError) as caught:
        parser.parse({"t": 12.5, "text": "b"}, 10)
    assert caught.value.line == 'trace.jsonl line 10: "t" goes back in time (12.5 after 13.0)'
    ts = TraceParser("x.csv")
    ts.parse({"timestamp": "2026-01-01T00:00:10Z", "text": "a"}, 2)
    with pytest.raises(TraceError, match=r'line 3: "timestamp" goes back in time \(-4\.0 after'):
        ts.parse({"timestamp": "2026-01-01T00:00:06Z", "text": "b"}, 3)


def test_csv_cells_read_as_the_json_line_would() -> None:
    parser = TraceParser("trace.csv")
    header = ("t", "texts", "text", "inputs", "tokens", "category")
    rows = [
        ("0.5", '["a","b"]', "", "", "", "en"),
        ("1", "", "one text, with a comma", "", "", ""),
        ("2.25", "", "", "2", "[12,40]", "zh"),
    ]
    got = [parser.parse_csv(dict(zip(header, r, strict=True)), n) for n, r in enumerate(rows, 2)]
    assert got == [
        TraceRequest(2, 0.5, ("a", "b"), None, "en"),
        TraceRequest(3, 1.0, ("one text, with a comma",), None, None),
        TraceRequest(4, 2.25, None, (12, 40), "zh"),
    ]
    iso = TraceParser("ts.csv").parse_csv({"timestamp": "2026-11-23T10:00:00Z", "text": "x"}, 2)
    assert iso.t_s == 0.0
    with pytest.raises(TraceError, match=r'^trace\.csv line 5: "tokens" must be a list'):
        parser.parse_csv({"t": "3", "tokens": "[12, forty]"}, 5)
    with pytest.raises(TraceError, match=r'^trace\.csv line 6: "inputs" must be a whole number'):
        parser.parse_csv({"t": "3", "inputs": "two", "tokens": "[1,2]"}, 6)


def test_trace_line_writes_what_the_parser_reads_back() -> None:
    requests = [
        TraceRequest(1, 0.1234567891, ("a", "b"), None, "en"),
        TraceRequest(2, 1.0, None, (3, 4), None),
        TraceRequest(3, 2.0, ("c",), (9,), "zh"),
    ]
    rows = [trace_line(r) for r in requests]
    assert rows[0] == {"t": 0.123457, "texts": ["a", "b"], "category": "en"}
    assert rows[1] == {"t": 1.0, "inputs": 2, "tokens": [3, 4]}
    back = parse(*rows)
    assert [(r.texts, r.tokens, r.category) for r in back] == [
        (r.texts, r.tokens, r.category) for r in requests
    ]


def test_a_request_has_texts_or_tokens() -> None:
    with pytest.raises(ValueError, match="texts or tokens"):
        TraceRequest(1, 0.0, None, None)


POOLS = pools_by_category(builtin_corpus())


@pytest.mark.parametrize("category", sorted(CHARS_PER_TOKEN))
def test_texts_are_cut_to_the_categorys_chars_per_token(category: str) -> None:
    maker = TextMaker(POOLS, seed=1)
    for tokens in (1, 17, 300, 5000):
        text = maker.text(tokens, category)
        assert len(text) == max(1, round(tokens * CHARS_PER_TOKEN[category]))
    corpus_text = {p.text for p in POOLS[category]}
    short = maker.text(3, category)
    assert any(t.startswith(short) for t in corpus_text)  # cut from the category's own texts
    assert tokens_for(len(maker.text(200, category)), category) == 200


def test_the_seed_fixes_the_texts_and_any_category_is_drawn_without_one() -> None:
    first = TextMaker(POOLS, seed=3).texts([10, 20, 30])
    assert first == TextMaker(POOLS, seed=3).texts([10, 20, 30])
    assert first != TextMaker(POOLS, seed=4).texts([10, 20, 30])
    made = [TextMaker(POOLS, seed=s).text(50) for s in range(40)]
    assert len({len(t) for t in made}) > 1  # the category, and so the chars per token, varies


def test_a_line_sends_its_texts_or_texts_of_its_lengths() -> None:
    maker = TextMaker(scenario_pools(SCENARIOS["peak"], builtin_corpus(), user_corpus=True), 0)
    given = TraceRequest(1, 0.0, ("mine",), (99,), "en")
    assert maker.for_request(given) == ("mine",)
    made = maker.for_request(TraceRequest(2, 0.0, None, (10, 20), "code"))
    assert [len(t) for t in made] == [32, 64]
    with pytest.raises(ValueError, match=r"^line 3: the corpus has no texts of category 'ja'"):
        maker.for_request(TraceRequest(3, 0.0, None, (5,), "ja"))


def test_a_maker_needs_texts() -> None:
    with pytest.raises(ValueError, match="needs texts"):
        TextMaker({"en": ()}, 0)
    user = {"user": (Payload("hello world", "user", "short"),)}
    assert len(TextMaker(user, 0).text(10)) == 30  # other categories: 3 chars a token
