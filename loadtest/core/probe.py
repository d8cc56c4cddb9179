"""The quality probe's figures: how well a model's vectors separate related from unrelated text.

Pure: vectors in (one per probe text, L2-normalized or not), figures out. Per category the mean
and spread of cosine for related pairs and for unrelated ones, and their separation as an AUC
(the chance a related pair scores above an unrelated one: 0.5 is chance, 1.0 perfect).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from loadtest.core import probe_pairs as pairs

CATEGORIES = {
    "zh_paraphrase": pairs.ZH_PARAPHRASE,
    "zh_en": pairs.ZH_EN,
    "zh_ja": pairs.ZH_JA,
    "code_doc": pairs.CODE_DOC,
}
SAME_TEXT_MIN = 0.9999  # the same text twice
IN_BATCH_MIN = 0.999  # a text alone vs inside a batch of 64
UNDER_LOAD_MIN = 0.999  # a reply under load vs the same text at rest


def probe_texts() -> list[str]:
    """Every text the probe embeds, each once, in a fixed order."""
    seen: dict[str, None] = {}
    for table in (*CATEGORIES.values(), pairs.UNRELATED):
        for a, b in table:
            seen.setdefault(a)
            seen.setdefault(b)
    for anchor, para, miss in pairs.NEAR_MISS:
        for text in (anchor, para, miss):
            seen.setdefault(text)
    return list(seen)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def auc(related: Sequence[float], unrelated: Sequence[float]) -> float:
    """P(related > unrelated), ties counting half: the Mann-Whitney form of the ROC AUC."""
    r, u = np.asarray(related)[:, None], np.asarray(unrelated)[None, :]
    return float(((r > u).sum() + 0.5 * (r == u).sum()) / (r.size * u.size))


def _stats(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std()), "n": int(arr.size)}


def separation(vector: Callable[[str], np.ndarray]) -> dict[str, Any]:
    """Per category: related and unrelated cosines, and the AUC between them.

    A category's unrelated pairs are its own first texts against the next pair's second text,
    so language and style match and only the meaning differs.
    """
    out: dict[str, Any] = {}
    for name, table in CATEGORIES.items():
        related = [cosine(vector(a), vector(b)) for a, b in table]
        shifted = [
            cosine(vector(a), vector(table[(i + 1) % len(table)][1]))
            for i, (a, _) in enumerate(table)
        ]
        out[name] = {
            "related": _stats(related),
            "unrelated": _stats(shifted),
            "auc": auc(related, shifted),
        }
    para = [cosine(vector(a), vector(p)) for a, p, _ in pairs.NEAR_MISS]
    miss = [cosine(vector(a), vector(m)) for a, _, m in pairs.NEAR_MISS]
    out["near_miss"] = {
        "related": _stats(para),
        "unrelated": _stats(miss),
        # per triple: does the paraphrase beat the look-alike with the opposite meaning?
        "auc": float(np.mean([p > m for p, m in zip(para, miss, strict=True)])),
    }
    far = [cosine(vector(a), vector(b)) for a, b in pairs.UNRELATED]
    out["unrelated"] = {"unrelated": _stats(far)}
    return out


def consistency_flags(figures: Mapping[str, float | None]) -> list[str]:
    """What to warn about: vectors that change with batching, repetition or load."""
    limits = {
        "same_text": SAME_TEXT_MIN,
        "in_batch": IN_BATCH_MIN,
        "under_load_worst": UNDER_LOAD_MIN,
    }
    return [
        f"{key} cosine {value:.6f} is below {limits[key]}"
        for key, value in figures.items()
        if key in limits and value is not None and value < limits[key]
    ]
