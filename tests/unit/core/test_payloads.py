"""The built-in corpus: size, coverage, labels; sampling: seeded and reproducible."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from loadtest.core.payloads import (
    SCENARIOS,
    PayloadSampler,
    bucket_for,
    builtin_corpus,
    describe_batch,
    parse_corpus,
    scenario_pools,
    user_seed,
)


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_corpus_is_large_distinct_and_labelled() -> None:
    items = builtin_corpus()
    assert len(items) >= 300
    assert len({i.text for i in items}) == len(items)
    assert {i.category for i in items} == {"zh", "en", "code", "mixed"}
    for item in items:
        assert item.bucket == bucket_for(len(item.text))


def test_corpus_covers_the_shapes_users_send() -> None:
    items = builtin_corpus()
    zh = [len(i.text) for i in items if i.category == "zh"]
    assert sum(5 <= n <= 20 for n in zh) >= 30  # short queries
    assert sum(20 < n <= 200 for n in zh) >= 50  # sentences
    assert max(zh) >= 800 and max(len(i.text) for i in items) <= 1100  # paragraphs to ~1,000
    en = [i.text for i in items if i.category == "en"]
    assert all(not has_cjk(t) for t in en) and sum(len(t) > 200 for t in en) >= 20
    code = " ".join(i.text for i in items if i.category == "code")
    for marker in ('"""', "def ", "public ", "SELECT", "function", "func ", "//", "--"):
        assert marker in code
    mixed = [i.text for i in items if i.category == "mixed"]
    assert all(has_cjk(t) and any(c.isascii() and c.isalpha() for c in t) for t in mixed)
    assert any(any("\u3040" <= c <= "\u30ff" for c in t) for t in mixed)  # some Japanese kana


def test_scenarios_draw_the_texts_they_promise() -> None:
    items = builtin_corpus()
    single = scenario_pools(SCENARIOS["single"], items)
    assert set(single) == {"zh"} and all(20 <= len(p.text) <= 60 for p in single["zh"])
    medium = scenario_pools(SCENARIOS["medium"], items)
    assert all(20 <= len(p.text) <= 200 for p in medium["zh"])
    assert SCENARIOS["medium"].inputs_per_request == 10
    peak = scenario_pools(SCENARIOS["peak"], items)
    assert set(peak) == {"zh", "en", "code", "mixed"}
    assert (SCENARIOS["single"].users, SCENARIOS["medium"].users, SCENARIOS["peak"].users) == (
        1,
        16,
        64,
    )


def test_sampling_is_reproducible_per_seed_and_user() -> None:
    pools = scenario_pools(SCENARIOS["peak"], builtin_corpus())

    def draws(seed: int, user: int) -> list[str]:
        sampler = PayloadSampler(pools, user_seed(seed, user))
        return [p.text for _ in range(50) for p in sampler.draw(1)]

    assert draws(1, 0) == draws(1, 0)
    assert draws(1, 0) != draws(1, 1)
    assert draws(1, 0) != draws(2, 0)


def test_peak_mixes_categories_evenly() -> None:
    pools = scenario_pools(SCENARIOS["peak"], builtin_corpus())
    sampler = PayloadSampler(pools, 0)
    counts = Counter(p.category for p in sampler.draw(4000))
    assert set(counts) == {"zh", "en", "code", "mixed"}
    assert min(counts.values()) > 800  # uniform over categories, not over item counts


def test_describe_batch() -> None:
    pools = scenario_pools(SCENARIOS["peak"], builtin_corpus())
    zh, code = pools["zh"][0], pools["code"][0]
    assert describe_batch([zh]) == (zh.category, zh.bucket, len(zh.text))
    assert describe_batch([zh, code])[0] == "multi"


def test_user_corpus_txt_and_jsonl() -> None:
    txt = parse_corpus("first text\n\nsecond\n", jsonl=False)
    assert [(p.text, p.category) for p in txt] == [("first text", "user"), ("second", "user")]
    lines = [json.dumps({"text": "你好", "category": "greet"}), json.dumps({"text": "x"})]
    rows = parse_corpus("\n".join(lines), jsonl=True)
    assert [(p.text, p.category) for p in rows] == [("你好", "greet"), ("x", "user")]
    # a user corpus is taken whole: the scenario's category filter does not apply
    assert set(scenario_pools(SCENARIOS["single"], rows, user_corpus=True)) == {"greet", "user"}


@pytest.mark.parametrize("content", ["", "{not json", '{"text": ""}', '["a"]'])
def test_bad_jsonl_corpus_is_refused_with_a_reason(content: str) -> None:
    with pytest.raises(ValueError, match=r"line 1|no texts"):
        parse_corpus(content, jsonl=True)
