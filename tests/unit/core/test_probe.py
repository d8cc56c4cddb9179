"""The probe's set and figures, on vectors whose answers are known."""

from __future__ import annotations

import numpy as np

from loadtest.core import probe_pairs as pairs
from loadtest.core.probe import CATEGORIES, auc, consistency_flags, probe_texts, separation


def test_the_set_has_at_least_120_labelled_pairs_of_every_kind() -> None:
    related = sum(len(t) for t in CATEGORIES.values())
    near_miss = 2 * len(pairs.NEAR_MISS)  # anchor-paraphrase and anchor-look-alike
    assert related + near_miss + len(pairs.UNRELATED) >= 120
    assert all(len(t) >= 20 for t in (*CATEGORIES.values(), pairs.NEAR_MISS, pairs.UNRELATED))
    texts = probe_texts()
    assert len(texts) == len(set(texts))  # each text embedded once
    kana = [b for _, b in pairs.ZH_JA]
    assert all(any("\u3040" <= ch <= "\u30ff" for ch in b) for b in kana)  # real Japanese


def test_auc_is_the_share_of_related_above_unrelated() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5


def test_separation_of_a_perfect_and_a_useless_model() -> None:
    texts = probe_texts()
    rng = np.random.default_rng(0)
    noise = {t: rng.normal(size=64) for t in texts}
    # "Perfect": each related pair shares a direction of its own; look-alikes get another.
    meaning: dict[str, np.ndarray] = {}
    for table in CATEGORIES.values():
        for a, b in table:
            meaning[a] = meaning[b] = rng.normal(size=64)
    for anchor, para, miss in pairs.NEAR_MISS:
        meaning[anchor] = meaning[para] = rng.normal(size=64)
        meaning[miss] = rng.normal(size=64)
    for a, b in pairs.UNRELATED:
        meaning.setdefault(a, rng.normal(size=64))
        meaning.setdefault(b, rng.normal(size=64))
    good = separation(lambda t: meaning[t] + 0.1 * noise[t])
    bad = separation(lambda t: noise[t])
    for category in (*CATEGORIES, "near_miss"):
        assert good[category]["auc"] >= 0.95, category
        assert good[category]["related"]["mean"] > 0.9 > good[category]["unrelated"]["mean"]
        assert bad[category]["auc"] < 0.9
    assert abs(good["unrelated"]["unrelated"]["mean"]) < 0.3


def test_consistency_flags_name_what_drifted() -> None:
    assert (
        consistency_flags({"same_text": 1.0, "in_batch": 0.9995, "under_load_worst": 0.9999}) == []
    )
    flags = consistency_flags({"same_text": 0.99, "in_batch": 0.99, "under_load_worst": 0.5})
    assert len(flags) == 3 and flags[2].startswith("under_load_worst cosine 0.500000")
