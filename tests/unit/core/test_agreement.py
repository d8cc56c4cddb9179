"""A candidate's vectors against the baseline's, on vectors whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from loadtest.core.agreement import (
    COSINE_MEAN_MIN,
    Embedded,
    QualityVectors,
    agreement,
    neighbour_overlaps,
)


def _vectors(corpus: np.ndarray, documents: np.ndarray) -> QualityVectors:
    """Corpus rows alternate between categories zh and en; documents are all `en`."""
    half = ("zh", "en")
    return QualityVectors(
        documents=Embedded(
            tuple(f"d{i}" for i in range(len(documents))), ("en",) * len(documents), documents
        ),
        queries=Embedded(("q0",), ("text",), documents[:1]),
        corpus=Embedded(
            tuple(f"corpus-{i}" for i in range(len(corpus))),
            tuple(half[i % 2] for i in range(len(corpus))),
            corpus,
        ),
    )


def test_identical_vectors_agree_entirely() -> None:
    rng = np.random.default_rng(0)
    base = _vectors(rng.normal(size=(30, 8)), rng.normal(size=(12, 8)))
    found = agreement(base, base, ("a", "a"))
    assert set(found.categories) == {"corpus:zh", "corpus:en", "docs:en"}
    for figures in found.categories.values():
        assert figures.cosine_mean == pytest.approx(1.0)
        assert figures.cosine_min == pytest.approx(1.0)
        assert figures.neighbour_overlap == 1.0
    assert found.categories["corpus:zh"].texts == 15
    assert found.neighbour_overlap == 1.0 and found.flags == []


def test_a_rotation_keeps_the_neighbours_and_costs_its_cosine() -> None:
    # in two dimensions a rotation by 30 degrees moves every vector by exactly 30 degrees and
    # keeps every angle between two of them: cosine cos(30) = 0.8660 for each text, overlap 1
    rng = np.random.default_rng(1)
    angles = rng.uniform(0, 2 * np.pi, size=40)
    plane = np.stack([np.cos(angles), np.sin(angles)], axis=1) * rng.uniform(0.5, 2, (40, 1))
    turn = np.radians(30)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    base = _vectors(plane[:28], plane[28:])
    turned = _vectors(plane[:28] @ rotation.T, plane[28:] @ rotation.T)
    found = agreement(base, turned, ("base", "turned"))
    for figures in found.categories.values():
        assert figures.cosine_mean == pytest.approx(np.cos(turn))
        assert figures.cosine_p1 == pytest.approx(np.cos(turn))
        assert figures.neighbour_overlap == 1.0
    assert found.flags == [
        f"mean cosine below {COSINE_MEAN_MIN} in 3 of 3 categories, lowest corpus:zh 0.8660"
    ]


def test_small_noise_is_not_flagged_and_large_noise_moves_neighbours() -> None:
    rng = np.random.default_rng(2)
    corpus, docs = rng.normal(size=(60, 32)), rng.normal(size=(20, 32))
    base = _vectors(corpus, docs)
    quantised = _vectors(corpus + rng.normal(0, 0.01, corpus.shape), docs)
    close = agreement(base, quantised, ("fp32", "int8"))
    assert close.flags == []
    zh = close.categories["corpus:zh"]
    assert zh.cosine_mean is not None and zh.cosine_min is not None and zh.cosine_p1 is not None
    assert 0.999 < zh.cosine_mean < 1 and zh.cosine_min <= zh.cosine_p1 <= zh.cosine_mean
    other = _vectors(rng.normal(size=corpus.shape), docs)  # unrelated vectors
    far = agreement(base, other, ("fp32", "another"))
    assert far.categories["corpus:zh"].neighbour_overlap is not None
    assert far.categories["corpus:zh"].neighbour_overlap < 0.5
    assert far.categories["docs:en"].neighbour_overlap == 1.0  # documents unchanged
    (flag,) = far.flags
    assert flag.startswith("mean cosine below 0.99 in 2 of 3 categories, lowest corpus:")


def test_another_dimension_gets_the_neighbour_overlap_alone() -> None:
    rng = np.random.default_rng(3)
    corpus, docs = rng.normal(size=(24, 8)), rng.normal(size=(12, 8))
    base = _vectors(corpus, docs)
    # padded with zeros: 10 dimensions, and every cosine between two texts as before
    wider = _vectors(np.pad(corpus, ((0, 0), (0, 2))), np.pad(docs, ((0, 0), (0, 2))))
    found = agreement(base, wider, ("small", "wide"))
    assert (found.baseline_dimensions, found.candidate_dimensions) == (8, 10)
    for figures in found.categories.values():
        assert figures.cosine_mean is None and figures.cosine_p1 is None
        assert figures.cosine_min is None and figures.neighbour_overlap == 1.0
    assert found.flags == []


def test_few_texts_and_no_shared_texts() -> None:
    one = np.array([[1.0, 0.0]])
    assert neighbour_overlaps(one, one) is None
    three = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert neighbour_overlaps(three, three) is not None  # two neighbours each, not ten
    rng = np.random.default_rng(4)
    base = _vectors(rng.normal(size=(4, 3)), rng.normal(size=(2, 3)))
    other = QualityVectors(
        documents=Embedded(("x",), ("en",), np.ones((1, 3))),
        queries=base.queries,
        corpus=Embedded(("y",), ("zh",), np.ones((1, 3))),
    )
    with pytest.raises(ValueError, match="no text in common"):
        agreement(base, other, ("a", "b"))
