"""`embload quality TARGET`: how well the target's vectors retrieve, and what they are like.

Every document of the bundled retrieval set is embedded as a document and every query as a
query, each marked as the target's model family is trained (core/marking.py), then scored by
core/retrieval.py. The built-in corpus is embedded too, unmarked, so that two targets' vectors
can be compared text by text later (`agreement_of`). Requests go through the one embeddings
client, every reply checked as the load path checks it, 32 texts each with a few in flight: a
server that batches across requests gets the work it is built for, and a CPU-bound one (the
bundled minilm) stays busy without a queue. A server with random weights is not measured.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from loadtest.config.targets import TargetSpec, load_targets
from loadtest.core.agreement import Embedded, QualityVectors, agreement
from loadtest.core.errors import EmbeddingFailed, UsageError
from loadtest.core.marking import Marking
from loadtest.core.quality import Agreement, QualityResult
from loadtest.core.retrieval import evaluate
from loadtest.core.types import ErrorKind
from loadtest.data import builtin_corpus, retrieval_set
from loadtest.store.files import (
    QUALITY,
    read_quality,
    read_quality_vectors,
    writable_dir,
    write_json,
    write_quality_vectors,
)
from loadtest.target.client import EmbeddingsClient
from loadtest.target.named import client_of
from loadtest.target.url import redact

BATCH = 32
IN_FLIGHT = 3  # requests at once: enough to keep a batching server fed, few enough for 2 cores


def _embed_parts(
    client: EmbeddingsClient, model: str | None, parts: list[tuple[list[str], str | None]]
) -> list[np.ndarray]:
    """Each part's texts (with its input_type) embedded in batches, IN_FLIGHT requests at once;
    per part a matrix, rows in input order. A batch holds texts of about one length: a server
    pads a pass to its longest text, and a title padded to a snippet's length costs as much."""
    batches = []
    for n, (texts, input_type) in enumerate(parts):
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), BATCH):
            rows = by_length[start : start + BATCH]
            batches.append((n, rows, [texts[i] for i in rows], input_type))
    with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="embload-quality") as pool:
        replies = list(pool.map(lambda b: client.embed(b[2], model, input_type=b[3]), batches))
    out: list[dict[int, np.ndarray]] = [{} for _ in parts]
    for (n, rows, _, _), vectors in zip(batches, replies, strict=True):
        out[n].update(zip(rows, vectors, strict=True))
    if len({len(v) for part in out for v in part.values()}) > 1:
        raise EmbeddingFailed(
            ErrorKind.INVALID_VECTOR, f"{client.target.url}: vectors of different dimensions"
        )
    return [np.array([part[i] for i in range(len(part))], dtype=np.float64) for part in out]


def measure_quality(
    client: EmbeddingsClient, marking: Marking, model: str | None, out_dir: Path
) -> QualityResult:
    """The retrieval set and the built-in corpus embedded, scored; quality.json and
    quality_vectors.npz written in `out_dir`. Raises EmbeddingFailed or TargetUnreachable."""
    card = client.model_card(model)
    model = model or (card.id if card else None)
    target = redact(client.target.base_url)
    if card is not None and card.weights == "random":
        why = (
            "the server runs random weights: its vectors mean nothing, so quality was not measured"
        )
        result = QualityResult(target=target, model=model, marking=marking.describe(), skipped=why)
        write_json(out_dir / QUALITY, result)
        return result
    rset, corpus = retrieval_set(), builtin_corpus()
    started = time.perf_counter()
    documents, queries, texts = _embed_parts(
        client,
        model,
        [
            (
                [marking.text("document", d.text) for d in rset.documents],
                marking.input_type("document"),
            ),
            ([marking.text("query", q.text) for q in rset.queries], marking.input_type("query")),
            ([p.text for p in corpus], None),  # unmarked: the same text for every model
        ],
    )
    elapsed_s = time.perf_counter() - started
    pairs, overall = evaluate(rset, documents, queries)
    vectors = QualityVectors(
        documents=Embedded(
            tuple(d.id for d in rset.documents), tuple(d.lang for d in rset.documents), documents
        ),
        queries=Embedded(
            tuple(q.id for q in rset.queries), tuple(q.kind for q in rset.queries), queries
        ),
        corpus=Embedded(
            tuple(f"corpus-{i}" for i in range(len(corpus))),
            tuple(p.category for p in corpus),
            texts,
        ),
    )
    write_quality_vectors(out_dir, vectors)
    result = QualityResult(
        target=target,
        model=model,
        marking=marking.describe(),
        documents=len(rset.documents),
        queries=len(rset.queries),
        dimensions=vectors.dimensions,
        pairs=pairs,
        overall=overall,
        texts_embedded=len(documents) + len(queries) + len(texts),
        elapsed_s=elapsed_s,
        batch_size=BATCH,
    )
    write_json(out_dir / QUALITY, result)
    return result


def quality_named(
    target: str, model: str | None, config: Path | None, out: Path | None
) -> tuple[Path, QualityResult]:
    """`embload quality`: a target name or URL measured alone; its folder and result."""
    spec = load_targets(config, []).get(target) or TargetSpec(name=target, url=target)
    if model is not None:
        spec = replace(spec, model=model)
    try:
        client = client_of(spec)
    except UsageError as exc:
        raise UsageError(f"{target!r} is neither a known target nor a URL: {exc.line}") from None
    with client:
        card = client.model_card(spec.model)  # TargetUnreachable before any folder is made
        marking = spec.marking(card.id if card else None)
        where = writable_dir(out or Path("reports") / f"quality-{datetime.now():%Y%m%d-%H%M%S}")
        return where, measure_quality(client, marking, spec.model, where)


def agreement_of(
    baseline_dir: Path, candidate_dir: Path, names: tuple[str, str] | None = None
) -> Agreement:
    """A candidate's `embload quality` folder against the baseline's: their vectors of the same
    texts compared (core/agreement.py). `names`: as tables show them (default: each folder's
    model, else the folder's name)."""
    if names is None:
        names = (_name(baseline_dir), _name(candidate_dir))
    try:
        return agreement(
            read_quality_vectors(baseline_dir), read_quality_vectors(candidate_dir), names
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _name(quality_dir: Path) -> str:
    return read_quality(quality_dir).model or quality_dir.name
