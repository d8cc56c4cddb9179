"""The quality probe's figures: how well a model's vectors separate related from unrelated text.

Pure: labelled pairs in (as parsed from `loadtest/data/probe_pairs.jsonl`), one vector per
probe text in, figures out. Per category the mean and spread of cosine for related pairs and
for unrelated ones, and their separation as an AUC (the chance a related pair scores above an
unrelated one: 0.5 is chance, 1.0 perfect). A category's unrelated pairs are its own first
texts against the next pair's second text, so language and style match and only meaning
differs; near misses pit a paraphrase against a look-alike of opposite meaning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from loadtest.core.comparisons import Consistency, CosineStats, Separation

SAME_TEXT_MIN = 0.9999  # the same text twice
IN_BATCH_MIN = 0.999  # a text alone vs inside a batch of 64
UNDER_LOAD_MIN = 0.999  # a reply under load (sampled in the runs, or a burst) vs at rest


@dataclass(frozen=True)
class ProbePairs:
    related: dict[str, tuple[tuple[str, str], ...]]  # category -> (text, its counterpart)
    near_miss: tuple[tuple[str, str, str], ...]  # (anchor, paraphrase, look-alike)
    unrelated: tuple[tuple[str, str], ...]  # different topics outright


def parse_probe_pairs(content: str) -> ProbePairs:
    """JSON lines `{"kind", "a", "b"}`, plus `"miss"` where kind is near_miss."""
    related: dict[str, list[tuple[str, str]]] = {}
    near_miss: list[tuple[str, str, str]] = []
    unrelated: list[tuple[str, str]] = []
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        texts = [row.get(k) for k in ("a", "b", "miss")]
        if not all(isinstance(t, str) and t for t in texts[:2]):
            raise ValueError(f"probe pairs line {lineno}: needs non-empty strings 'a' and 'b'")
        a, b = str(texts[0]), str(texts[1])
        if row.get("kind") == "near_miss":
            if not isinstance(texts[2], str) or not texts[2]:
                raise ValueError(f"probe pairs line {lineno}: a near_miss needs 'miss'")
            near_miss.append((a, b, texts[2]))
        elif row.get("kind") == "unrelated":
            unrelated.append((a, b))
        else:
            related.setdefault(str(row.get("kind")), []).append((a, b))
    if not related or not near_miss or not unrelated:
        raise ValueError("probe pairs need related pairs, near misses and unrelated pairs")
    return ProbePairs({k: tuple(v) for k, v in related.items()}, tuple(near_miss), tuple(unrelated))


def probe_texts(pairs: ProbePairs) -> list[str]:
    """Every text the probe embeds, each once, in a fixed order."""
    seen: dict[str, None] = {}
    for table in (*pairs.related.values(), pairs.unrelated):
        for a, b in table:
            seen.setdefault(a)
            seen.setdefault(b)
    for triple in pairs.near_miss:
        for text in triple:
            seen.setdefault(text)
    return list(seen)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def auc(related: Sequence[float], unrelated: Sequence[float]) -> float:
    """P(related > unrelated), ties counting half: the Mann-Whitney form of the ROC AUC."""
    r, u = np.asarray(related)[:, None], np.asarray(unrelated)[None, :]
    return float(((r > u).sum() + 0.5 * (r == u).sum()) / (r.size * u.size))


def _stats(values: Sequence[float]) -> CosineStats:
    arr = np.asarray(values, dtype=float)
    return CosineStats(mean=float(arr.mean()), std=float(arr.std()), n=int(arr.size))


def _separation(related: Sequence[float], unrelated: Sequence[float]) -> Separation:
    return Separation(
        related=_stats(related), unrelated=_stats(unrelated), auc=auc(related, unrelated)
    )


def separation(pairs: ProbePairs, vector: Callable[[str], np.ndarray]) -> dict[str, Separation]:
    """Per category: related and unrelated cosines, and the AUC between them."""
    out: dict[str, Separation] = {}
    for name, table in pairs.related.items():
        related = [cosine(vector(a), vector(b)) for a, b in table]
        shifted = [
            cosine(vector(a), vector(table[(i + 1) % len(table)][1]))
            for i, (a, _) in enumerate(table)
        ]
        out[name] = _separation(related, shifted)
    para = [cosine(vector(a), vector(p)) for a, p, _ in pairs.near_miss]
    miss = [cosine(vector(a), vector(m)) for a, _, m in pairs.near_miss]
    out["near_miss"] = _separation(para, miss)
    far = [cosine(vector(a), vector(b)) for a, b in pairs.unrelated]
    out["unrelated"] = Separation(related=None, unrelated=_stats(far), auc=None)
    return out


def consistency_flags(figures: Consistency) -> list[str]:
    """What to warn about: vectors that change with batching, repetition or load."""
    checks = (
        ("same_text", figures.same_text, SAME_TEXT_MIN),
        ("in_batch", figures.in_batch, IN_BATCH_MIN),
        ("under_load_worst", figures.under_load_worst, UNDER_LOAD_MIN),
        ("burst_worst", figures.burst_worst, UNDER_LOAD_MIN),
    )
    return [
        f"{key} cosine {value:.6f} is below {limit}"
        for key, value, limit in checks
        if value is not None and value < limit
    ]
