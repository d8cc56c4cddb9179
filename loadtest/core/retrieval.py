"""The retrieval set and how well a model's vectors retrieve from it.

The set (`loadtest/data/retrieval/*.json`) is topics of subjects, each subject written in
English, Chinese and Japanese (a title and a text each: six documents) with an English and a
Chinese query, and code snippets with their own two queries. Relevance is derived, graded:
a text query's own subject is grade 2, the rest of its topic grade 1; a code query's own
snippet grade 2, the rest of its topic's code grade 1; anything else 0.

Each pair ranks one document language only (zh->en: Chinese queries against the English
documents), so a model that cannot read Chinese shows up in its pairs instead of hiding in an
average. Ties keep the documents' order, so the same vectors always score the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from loadtest.core.errors import UsageError
from loadtest.core.quality import PairQuality

TEXT_LANGS = ("en", "zh", "ja")
QUERY_LANGS = ("en", "zh")


class Document(NamedTuple):
    id: str  # "databases-1:zh:title", or a snippet's own id
    lang: str  # en, zh, ja or code
    topic: str
    subject: str  # its subject's id (a snippet's own id)
    text: str


class Query(NamedTuple):
    id: str  # "databases-1:q:zh"
    lang: str  # en or zh
    kind: str  # text (asks for a subject) or code (asks for a snippet)
    topic: str
    subject: str
    text: str


class Pair(NamedTuple):
    name: str
    query_kind: str
    query_lang: str | None  # None: queries of every language
    document_lang: str


PAIRS = (
    Pair("zh->zh", "text", "zh", "zh"),
    Pair("zh->en", "text", "zh", "en"),
    Pair("zh->ja", "text", "zh", "ja"),
    Pair("en->en", "text", "en", "en"),
    Pair("en->zh", "text", "en", "zh"),
    Pair("text->code", "code", None, "code"),
)


def grade(query: Query, document: Document) -> int:
    """2 for the query's own subject (or snippet), 1 for the rest of its topic of the same
    kind, else 0."""
    if (query.kind == "code") != (document.lang == "code"):
        return 0
    if document.subject == query.subject:
        return 2
    return 1 if document.topic == query.topic else 0


@dataclass(frozen=True)
class RetrievalSet:
    documents: tuple[Document, ...]
    queries: tuple[Query, ...]

    def pool(self, pair: Pair) -> list[int]:
        """The documents a pair ranks, by index, in the set's order."""
        return [i for i, d in enumerate(self.documents) if d.lang == pair.document_lang]

    def asked(self, pair: Pair) -> list[int]:
        """The queries a pair asks, by index."""
        return [
            i
            for i, q in enumerate(self.queries)
            if q.kind == pair.query_kind and pair.query_lang in (None, q.lang)
        ]

    def grades(self, query: Query, pool: Sequence[int]) -> np.ndarray:
        return np.array([grade(query, self.documents[i]) for i in pool], dtype=np.int64)


class _Reader:
    """Walks one file's JSON, every error naming the file and the field."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, what: str) -> UsageError:
        return UsageError(f"retrieval set {self.name}: {where}: {what}")

    def items(self, doc: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
        value = doc.get(key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"{where}{key}", "must be a list of objects")
        return value

    def text(self, doc: object, key: str, where: str) -> str:
        value = doc.get(key) if isinstance(doc, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "must be a non-empty string")
        return value


def parse_retrieval_set(files: Sequence[tuple[str, str]]) -> RetrievalSet:
    """(file name, its JSON) for each part of the set, in order; UsageError naming the file
    and the field of the first thing wrong."""
    documents: list[Document] = []
    queries: list[Query] = []
    if not files:
        raise UsageError("the retrieval set has no files")
    for name, content in files:
        read = _Reader(name)
        try:
            doc = json.loads(content)
        except ValueError as exc:
            raise read.fail("the file", f"not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise read.fail("the file", "must be a JSON object")
        for t, topic_doc in enumerate(read.items(doc, "topics", "")):
            where = f"topics[{t}]."
            topic = read.text(topic_doc, "topic", where)
            for s, subject in enumerate(read.items(topic_doc, "subjects", where)):
                at = f"{where}subjects[{s}]."
                sid = read.text(subject, "id", at)
                for lang in TEXT_LANGS:
                    for field in ("title", "text"):
                        text = read.text(subject.get(lang), field, f"{at}{lang}.")
                        documents.append(Document(f"{sid}:{lang}:{field}", lang, topic, sid, text))
                for lang in QUERY_LANGS:
                    text = read.text(subject.get("query"), lang, f"{at}query.")
                    queries.append(Query(f"{sid}:q:{lang}", lang, "text", topic, sid, text))
            for c, code in enumerate(read.items(topic_doc, "code", where)):
                at = f"{where}code[{c}]."
                cid = read.text(code, "id", at)
                read.text(code, "language", at)
                documents.append(Document(cid, "code", topic, cid, read.text(code, "text", at)))
                for lang in QUERY_LANGS:
                    text = read.text(code.get("query"), lang, f"{at}query.")
                    queries.append(Query(f"{cid}:q:{lang}", lang, "code", topic, cid, text))
        ids = [d.id for d in documents] + [q.id for q in queries]
        if len(set(ids)) < len(ids):
            twice = next(i for n, i in enumerate(ids) if i in ids[:n])
            raise read.fail("id", f"{twice.split(':')[0]!r} appears twice in the set")
    return RetrievalSet(tuple(documents), tuple(queries))


def rank_metrics(scores: np.ndarray, grades: np.ndarray) -> tuple[float, float, float, float]:
    """(precision@5, recall@10, nDCG@10, reciprocal rank) of one query, from its scores and
    grades over one pool; ties ranked in the pool's order. The pool must hold a relevant one."""
    order = np.argsort(-scores, kind="stable")
    ranked = grades[order]
    relevant = ranked >= 1
    precision = float(relevant[:5].sum()) / 5
    recall = float(relevant[:10].sum()) / float(relevant.sum())
    discount = 1.0 / np.log2(np.arange(2, 12))  # ranks 1..10
    dcg = float(((2.0 ** ranked[:10] - 1) * discount[: len(ranked[:10])]).sum())
    ideal = np.sort(grades)[::-1][:10]
    idcg = float(((2.0**ideal - 1) * discount[: len(ideal)]).sum())
    first = int(np.argmax(relevant))  # the first True: there is one
    return precision, recall, dcg / idcg, 1.0 / (first + 1)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero): cosine is then a dot product.
    Servers are not trusted to have normalised."""
    rows = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: np.ndarray = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return unit


def evaluate(
    rset: RetrievalSet, document_vectors: np.ndarray, query_vectors: np.ndarray
) -> tuple[dict[str, PairQuality], PairQuality | None]:
    """Per pair its figures averaged over its queries, and the pairs' macro average; vectors
    in the set's order. A pair with no query that has a relevant document is left out."""
    if len(document_vectors) != len(rset.documents) or len(query_vectors) != len(rset.queries):
        raise ValueError("one vector per document and per query, in the set's order")
    docs, asks = unit_rows(document_vectors), unit_rows(query_vectors)
    pairs: dict[str, PairQuality] = {}
    for pair in PAIRS:
        pool = rset.pool(pair)
        figures = []
        for q in rset.asked(pair):
            grades = rset.grades(rset.queries[q], pool)
            if grades.max(initial=0) >= 1:
                figures.append(rank_metrics(docs[pool] @ asks[q], grades))
        if figures:
            pairs[pair.name] = _mean(np.array(figures), len(figures))
    if not pairs:
        return pairs, None
    macro = np.array(
        [[p.precision_at_5, p.recall_at_10, p.ndcg_at_10, p.mrr] for p in pairs.values()]
    )
    return pairs, _mean(macro, sum(p.queries for p in pairs.values()))


def _mean(rows: np.ndarray, queries: int) -> PairQuality:
    p5, r10, ndcg, mrr = (float(v) for v in rows.mean(axis=0))
    return PairQuality(
        precision_at_5=p5, recall_at_10=r10, ndcg_at_10=ndcg, mrr=mrr, queries=queries
    )
