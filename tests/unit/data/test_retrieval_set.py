"""The shipped retrieval set (loadtest/data/retrieval/*.json): whole, in the languages it
says, and every query answerable in each of its pairs."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

from loadtest.core.retrieval import PAIRS
from loadtest.data import retrieval_set

CJK = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")


def test_every_part_is_shipped() -> None:
    folder = resources.files("loadtest.data").joinpath("retrieval")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    assert names == ["a.json", "b.json", "c.json", "d.json"]


def test_the_set_has_its_documents_and_queries_in_every_language() -> None:
    rset = retrieval_set()
    documents = Counter(d.lang for d in rset.documents)
    assert all(documents[lang] >= 200 for lang in ("zh", "en", "ja")), documents
    assert documents["code"] >= 100, documents
    assert sum(documents.values()) >= 600
    by_lang = Counter(q.lang for q in rset.queries)
    assert by_lang["zh"] >= 120 and by_lang["en"] >= 120, by_lang
    by_kind = Counter((q.kind, q.lang) for q in rset.queries)
    assert all(by_kind[kind, lang] >= 100 for kind in ("text", "code") for lang in ("zh", "en"))


def test_every_query_has_relevant_documents_in_each_of_its_pairs() -> None:
    rset = retrieval_set()
    for pair in PAIRS:
        pool = rset.pool(pair)
        asked = rset.asked(pair)
        assert pool and asked, pair.name
        for q in asked:
            grades = rset.grades(rset.queries[q], pool)
            # its own subject (title and text) or snippet, and others of its topic
            assert (grades == 2).sum() in (1, 2), (pair.name, rset.queries[q].id)
            assert (grades == 1).sum() >= 1, (pair.name, rset.queries[q].id)


def test_the_languages_are_what_they_say() -> None:
    rset = retrieval_set()
    zh = [d.text for d in rset.documents if d.lang == "zh"]
    zh += [q.text for q in rset.queries if q.lang == "zh"]
    assert all(CJK.search(t) for t in zh), [t for t in zh if not CJK.search(t)][:3]
    ja = [d.text for d in rset.documents if d.lang == "ja"]
    assert all(KANA.search(t) for t in ja), [t for t in ja if not KANA.search(t)][:3]
    en = [d.text for d in rset.documents if d.lang == "en"]
    en += [q.text for q in rset.queries if q.lang == "en"]
    assert not any(CJK.search(t) or KANA.search(t) for t in en)
    assert len({d.text for d in rset.documents}) == len(rset.documents)  # no text twice


def test_the_set_is_parsed_once() -> None:
    assert retrieval_set() is retrieval_set()
