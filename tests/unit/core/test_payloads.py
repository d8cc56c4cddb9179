"""The built-in corpus (package data) and what each scenario draws from it, held against what
the scenario's description promises; seeded, reproducible sampling; the corpus parser."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest

from loadtest.core.payloads import (
    SCENARIOS,
    PayloadSampler,
    bucket_for,
    describe_batch,
    parse_corpus,
    scenario_pools,
    user_seed,
)
from loadtest.data import builtin_corpus

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "running.md"


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def draws(name: str, requests: int, seed: int = 0) -> list[list[str]]:
    scenario = SCENARIOS[name]
    sampler = PayloadSampler(scenario_pools(scenario, builtin_corpus()), seed)
    return [[p.text for p in sampler.draw(scenario.inputs_per_request)] for _ in range(requests)]


def test_corpus_is_distinct_and_labelled_by_one_rule() -> None:
    items = builtin_corpus()
    assert len({i.text for i in items}) == len(items)
    assert {i.category for i in items} == {"zh", "en", "code", "mixed"}
    for item in items:
        assert item.bucket == bucket_for(len(item.text))
    assert [bucket_for(n) for n in (32, 33, 256, 257, 1024, 1025)] == [
        "short",
        "medium",
        "medium",
        "long",
        "long",
        "xlong",
    ]


def test_the_readme_states_the_corpus_as_it_is() -> None:
    stated = re.search(
        r"built-in corpus \(([\d,]+) texts written for this\s+project", GUIDE.read_text()
    )
    assert stated is not None, "docs/running.md should say how many texts the built-in corpus holds"
    assert int(stated.group(1).replace(",", "")) == len(builtin_corpus())


def test_every_category_covers_short_medium_and_long_texts() -> None:
    counts = Counter((i.category, i.bucket) for i in builtin_corpus())
    for category in ("zh", "en", "code", "mixed"):
        for bucket in ("short", "medium", "long"):
            assert counts[category, bucket] >= 7, (category, bucket, counts)
    zh = [len(i.text) for i in builtin_corpus() if i.category == "zh"]
    assert sum(56 <= n <= 200 for n in zh) >= 100  # the medium scenario's upper range


def test_single_sends_one_short_chinese_sentence() -> None:
    texts = [t for request in draws("single", 2000) for t in request]
    assert all(len(request) == 1 for request in draws("single", 50))
    assert all(has_cjk(t) and 20 <= len(t) <= 60 for t in texts)
    assert len(set(texts)) >= 100  # not a handful of texts repeated


def test_medium_sends_ten_chinese_texts_spread_over_20_to_200_chars() -> None:
    requests = draws("medium", 4000)
    assert all(len(r) == 10 for r in requests)
    lengths = [len(t) for r in requests for t in r]
    assert all(20 <= n <= 200 for n in lengths)
    assert all(has_cjk(t) for r in requests[:200] for t in r)
    # Lengths spread evenly: each fifth of 20-200 chars is about a fifth of the texts ...
    fifths = Counter(min((n - 20) * 5 // 181, 4) for n in lengths)
    assert all(0.17 < fifths[k] / len(lengths) < 0.23 for k in range(5)), fifths
    # ... so the median request's average text (records' chars / inputs) is about 110 chars.
    per_request = [statistics.mean(len(t) for t in r) for r in requests]
    assert 100 <= statistics.median(per_request) <= 120


def test_peak_draws_four_categories_evenly_up_to_about_1000_chars() -> None:
    scenario = SCENARIOS["peak"]
    sampler = PayloadSampler(scenario_pools(scenario, builtin_corpus()), 0)
    batch = sampler.draw(8000)
    counts = Counter(p.category for p in batch)
    assert set(counts) == {"zh", "en", "code", "mixed"}
    assert all(0.22 < c / len(batch) < 0.28 for c in counts.values()), counts
    lengths = [len(p.text) for p in batch]
    assert max(lengths) <= 1100 and max(lengths) >= 900
    for category in counts:  # every category sends short queries and long documents
        buckets = {p.bucket for p in batch if p.category == category}
        assert {"short", "medium", "long"} <= buckets, (category, buckets)


def test_sampling_is_reproducible_per_seed_and_user() -> None:
    pools = scenario_pools(SCENARIOS["peak"], builtin_corpus())

    def stream(seed: int, user: int) -> list[str]:
        sampler = PayloadSampler(pools, user_seed(seed, user))
        return [p.text for _ in range(50) for p in sampler.draw(1)]

    assert stream(1, 0) == stream(1, 0)
    assert stream(1, 0) != stream(1, 1)
    assert stream(1, 0) != stream(2, 0)


def test_describe_batch() -> None:
    pools = scenario_pools(SCENARIOS["peak"], builtin_corpus())
    zh = next(p for p in pools["zh"] if p.bucket == "short")
    code = next(p for p in pools["code"] if p.bucket == "long")
    assert describe_batch([zh]) == ("zh", "short", len(zh.text))
    assert describe_batch([zh, zh]) == ("zh", "short", 2 * len(zh.text))
    assert describe_batch([zh, code]) == ("multi", "multi", len(zh.text) + len(code.text))


def test_user_corpus_txt_and_jsonl() -> None:
    txt = parse_corpus("first text\n\nsecond\n", jsonl=False)
    assert [(p.text, p.category) for p in txt] == [("first text", "user"), ("second", "user")]
    lines = [json.dumps({"text": "你好", "category": "greet"}), json.dumps({"text": "x"})]
    rows = parse_corpus("\n".join(lines), jsonl=True)
    assert [(p.text, p.category) for p in rows] == [("你好", "greet"), ("x", "user")]
    # a user corpus is taken whole: the scenario's category and length filters do not apply
    assert set(scenario_pools(SCENARIOS["medium"], rows, user_corpus=True)) == {"greet", "user"}


@pytest.mark.parametrize("content", ["", "{not json", '{"text": ""}', '["a"]'])
def test_bad_jsonl_corpus_is_refused_with_a_reason(content: str) -> None:
    with pytest.raises(ValueError, match=r"line 1|no texts"):
        parse_corpus(content, jsonl=True)
