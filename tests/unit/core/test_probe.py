"""The probe's pairs (package data) and figures, on vectors whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.comparisons import Consistency
from loadtest.core.probe import (
    auc,
    consistency_flags,
    parse_probe_pairs,
    probe_texts,
    separation,
)
from loadtest.data import probe_pairs


def test_the_set_has_at_least_120_labelled_pairs_of_every_kind() -> None:
    pairs = probe_pairs()
    assert set(pairs.related) == {"zh_paraphrase", "zh_en", "zh_ja", "code_doc"}
    related = sum(len(t) for t in pairs.related.values())
    near_miss = 2 * len(pairs.near_miss)  # anchor-paraphrase and anchor-look-alike
    assert related + near_miss + len(pairs.unrelated) >= 120
    assert all(len(t) >= 20 for t in (*pairs.related.values(), pairs.near_miss, pairs.unrelated))
    texts = probe_texts(pairs)
    assert len(texts) == len(set(texts))  # each text embedded once
    kana = [b for _, b in pairs.related["zh_ja"]]
    assert all(any("\u3040" <= ch <= "\u30ff" for ch in b) for b in kana)  # real Japanese


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"kind": "zh_en", "a": "x"}', "needs non-empty strings 'a' and 'b'"),
        ('{"kind": "near_miss", "a": "x", "b": "y"}', "a near_miss needs 'miss'"),
        ('{"kind": "zh_en", "a": "x", "b": "y"}', "need related pairs, near misses and unrelated"),
    ],
)
def test_malformed_pairs_are_refused_with_a_reason(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_probe_pairs(line)


def test_auc_is_the_share_of_related_above_unrelated() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5
    assert auc([0.9, 0.1], [0.5]) == 0.5  # one of two related pairs above


def test_separation_of_a_perfect_and_a_useless_model() -> None:
    pairs = probe_pairs()
    texts = probe_texts(pairs)
    rng = np.random.default_rng(0)
    noise = {t: rng.normal(size=64) for t in texts}
    # "Perfect": each related pair shares a direction of its own; look-alikes get another.
    meaning: dict[str, np.ndarray] = {}
    for table in pairs.related.values():
        for a, b in table:
            meaning[a] = meaning[b] = rng.normal(size=64)
    for anchor, para, miss in pairs.near_miss:
        meaning[anchor] = meaning[para] = rng.normal(size=64)
        meaning[miss] = rng.normal(size=64)
    for a, b in pairs.unrelated:
        meaning.setdefault(a, rng.normal(size=64))
        meaning.setdefault(b, rng.normal(size=64))
    good = separation(pairs, lambda t: meaning[t] + 0.1 * noise[t])
    bad = separation(pairs, lambda t: noise[t])
    for category in (*pairs.related, "near_miss"):
        g, b = good[category], bad[category]
        assert g.auc is not None and g.auc >= 0.95, category
        assert g.related is not None and g.related.mean > 0.9 > g.unrelated.mean
        assert b.auc is not None and b.auc < 0.9
    assert abs(good["unrelated"].unrelated.mean) < 0.3 and good["unrelated"].auc is None


def consistency(**worse: float) -> Consistency:
    figures = {"same_text": 1.0, "in_batch": 0.9995, "under_load_worst": 0.9999}
    return Consistency(**{**figures, "under_load_samples": 5, "burst_worst": 0.9999, **worse})


def test_consistency_flags_name_what_drifted() -> None:
    assert consistency_flags(consistency()) == []
    flags = consistency_flags(consistency(same_text=0.99, in_batch=0.99, under_load_worst=0.5))
    assert len(flags) == 3 and flags[2].startswith("under_load_worst cosine 0.500000")
    # the 64-way burst is held to the same bar as the replies sampled during the runs
    assert consistency_flags(consistency(burst_worst=0.98)) == [
        "burst_worst cosine 0.980000 is below 0.999"
    ]
