"""The retrieval set's parser and its metrics, against figures worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loadtest.core.errors import UsageError
from loadtest.core.retrieval import (
    PAIRS,
    Document,
    Query,
    RetrievalSet,
    evaluate,
    grade,
    parse_retrieval_set,
    rank_metrics,
)


def test_one_query_ranked_by_hand() -> None:
    # pool order d0..d3, grades 0 2 1 0; by score d0 (.9), d1 (.8), d3 (.5), d2 (.1): 0 2 0 1
    precision, recall, ndcg, rr = rank_metrics(
        np.array([0.9, 0.8, 0.1, 0.5]), np.array([0, 2, 1, 0])
    )
    assert precision == 2 / 5  # d1 and d2 among the first 5
    assert recall == 1.0  # both relevant ones in the first 10
    # DCG = 3/log2(3) + 1/log2(5) = 1.892789 + 0.430677; ideal 2 1: 3/log2(2) + 1/log2(3) = 3.630930
    assert ndcg == pytest.approx(2.323466 / 3.630930, abs=1e-6)
    assert rr == 1 / 2  # d1, second


def test_ties_keep_the_pool_order() -> None:
    # all scores equal: ranked as pooled, grades 0 0 1 2
    precision, recall, ndcg, rr = rank_metrics(np.full(4, 0.5), np.array([0, 0, 1, 2]))
    assert (precision, recall, rr) == (2 / 5, 1.0, 1 / 3)
    # DCG = 1/log2(4) + 3/log2(5) = 0.5 + 1.292030; ideal 3.630930
    assert ndcg == pytest.approx(1.792030 / 3.630930, abs=1e-6)


def test_only_the_first_ten_count_but_mrr_reads_the_whole_ranking() -> None:
    scores = -np.arange(12.0)  # ranked as pooled
    grades = np.zeros(12, dtype=np.int64)
    grades[10] = 2  # rank 11: outside the first 10
    grades[0] = 1
    precision, recall, ndcg, rr = rank_metrics(scores, grades)
    assert (precision, recall, rr) == (1 / 5, 1 / 2, 1.0)
    # DCG = 1/log2(2) = 1; the ideal puts the 2 first: 3 + 1/log2(3) = 3.630930
    assert ndcg == pytest.approx(1 / 3.630930, abs=1e-6)
    late = np.zeros(12, dtype=np.int64)
    late[11] = 1
    assert rank_metrics(scores, late)[3] == 1 / 12  # MRR past the first 10


def _tiny() -> RetrievalSet:
    docs = (
        Document("s1:en:title", "en", "t1", "s1", "a"),
        Document("s1:en:text", "en", "t1", "s1", "b"),
        Document("s2:en:title", "en", "t1", "s2", "c"),
        Document("s3:en:title", "en", "t2", "s3", "d"),
    )
    queries = (
        Query("s1:q:en", "en", "text", "t1", "s1", "q1"),
        Query("s3:q:en", "en", "text", "t2", "s3", "q2"),
    )
    return RetrievalSet(docs, queries)


def _at(degrees: float, length: float = 1.0) -> list[float]:
    return [length * np.cos(np.radians(degrees)), length * np.sin(np.radians(degrees))]


def test_a_tiny_set_scored_by_hand() -> None:
    rset = _tiny()
    # documents at 0, 60, 30 and 90 degrees; lengths other than 1 must not matter
    docs = np.array([_at(0, 3.0), _at(60), _at(30, 0.2), _at(90)])
    queries = np.array([_at(10), _at(50, 0.5)])
    pairs, overall = evaluate(rset, docs, queries)
    assert set(pairs) == {"en->en"}  # no other language has documents or queries
    # q1 (s1) at 10 degrees ranks d0 (10), d2 (20), d1 (50), d3 (80): grades 2 1 2 0
    #   P@5 3/5, R@10 3/3, RR 1; DCG 3 + 1/log2(3) + 3/log2(4) = 5.130930,
    #   ideal 2 2 1: 3 + 3/log2(3) + 1/log2(4) = 5.392789, nDCG 0.951443
    # q2 (s3) at 50 degrees ranks d1 (10), d2 (20), d3 (40), d0 (50): grades 0 0 2 0
    #   P@5 1/5, R@10 1/1, RR 1/3; DCG 3/log2(4) = 1.5, ideal 3, nDCG 0.5
    figures = pairs["en->en"]
    assert figures.queries == 2
    assert figures.precision_at_5 == pytest.approx((3 / 5 + 1 / 5) / 2)
    assert figures.recall_at_10 == pytest.approx(1.0)
    assert figures.ndcg_at_10 == pytest.approx((0.951443 + 0.5) / 2, abs=1e-6)
    assert figures.mrr == pytest.approx((1 + 1 / 3) / 2)
    assert overall == figures  # one pair: the macro average is that pair


def test_grades_follow_subject_topic_and_kind() -> None:
    rset = _tiny()
    q1, q2 = rset.queries
    assert [grade(q1, d) for d in rset.documents] == [2, 2, 1, 0]
    assert [grade(q2, d) for d in rset.documents] == [0, 0, 0, 2]
    snippet = Document("t1-code-1", "code", "t1", "t1-code-1", "x = 1")
    asks_code = Query("t1-code-1:q:zh", "zh", "code", "t1", "t1-code-1", "变量")
    assert grade(q1, snippet) == 0 and grade(asks_code, rset.documents[0]) == 0
    assert grade(asks_code, snippet) == 2
    assert grade(asks_code, snippet._replace(id="t1-code-2", subject="t1-code-2")) == 1
    assert [p.name for p in PAIRS] == [
        "zh->zh",
        "zh->en",
        "zh->ja",
        "en->en",
        "en->zh",
        "text->code",
    ]


def _subject(sid: str) -> dict[str, object]:
    side = {"title": f"{sid} title", "text": f"{sid} text"}
    return {"id": sid, "en": side, "zh": side, "ja": side, "query": {"en": "q", "zh": "问"}}


def _file(**change: object) -> dict[str, object]:
    code = {
        "id": "db-code-1",
        "language": "sql",
        "text": "SELECT 1",
        "query": {"en": "q", "zh": "问"},
    }
    topic = {"topic": "db", "subjects": [_subject("db-1"), _subject("db-2")], "code": [code]}
    return {"part": "a", "topics": [{**topic, **change}]}


def test_a_file_parsed_into_documents_and_queries() -> None:
    rset = parse_retrieval_set([("a.json", json.dumps(_file()))])
    assert len(rset.documents) == 2 * 6 + 1 and len(rset.queries) == 2 * 2 + 2
    assert rset.documents[0] == Document("db-1:en:title", "en", "db", "db-1", "db-1 title")
    assert rset.documents[-1] == Document("db-code-1", "code", "db", "db-code-1", "SELECT 1")
    assert rset.queries[-1] == Query("db-code-1:q:zh", "zh", "code", "db", "db-code-1", "问")
    code_pair = next(p for p in PAIRS if p.name == "text->code")
    assert len(rset.asked(code_pair)) == 2 and len(rset.pool(code_pair)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "a.json: the file: not JSON"),
        ("[]", "a.json: the file: must be a JSON object"),
        ("{}", "a.json: topics: must be a list of objects"),
        (json.dumps(_file(topic="")), r"a.json: topics\[0\].topic: must be a non-empty string"),
        (
            json.dumps(_file(subjects=[{**_subject("db-1"), "ja": {"title": "t"}}])),
            r"a.json: topics\[0\].subjects\[0\].ja.text: must be a non-empty string",
        ),
        (
            json.dumps(_file(subjects=[{**_subject("db-1"), "query": {"en": "q"}}])),
            r"a.json: topics\[0\].subjects\[0\].query.zh: must be a non-empty string",
        ),
        (json.dumps(_file(code=[{"id": "c"}])), r"topics\[0\].code\[0\].language: must be"),
        (
            json.dumps(_file(subjects=[_subject("db-1"), _subject("db-1")])),
            "a.json: id: 'db-1' appears twice in the set",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_the_field(
    content: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_retrieval_set([("a.json", content)])
    assert "\n" not in caught.value.line


def test_a_subject_in_two_files_is_refused_in_the_second() -> None:
    part = json.dumps(_file())
    with pytest.raises(UsageError, match=r"b\.json: id: 'db-1' appears twice"):
        parse_retrieval_set([("a.json", part), ("b.json", part)])
    with pytest.raises(UsageError, match="no files"):
        parse_retrieval_set([])


def test_vectors_must_match_the_set() -> None:
    with pytest.raises(ValueError, match="one vector per document"):
        evaluate(_tiny(), np.zeros((3, 2)), np.zeros((2, 2)))
