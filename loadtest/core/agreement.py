"""Does a candidate embed like the baseline? The same texts' vectors from two targets, compared.

Two figures per category of text: the cosine of each text's two vectors (a quantised or
differently batched copy of the same model sits near 1; anything below 0.99 on average has
changed the model), and the overlap of each text's 10 nearest neighbours under each model,
which still means something when the two models differ, even in dimension. The texts are the
built-in corpus's (`corpus:zh`, `corpus:en`, ...) and the retrieval set's documents
(`docs:en`, `docs:zh`, `docs:ja`, `docs:code`); neighbours are sought within a category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadtest.core.quality import Agreement, CategoryAgreement
from loadtest.core.retrieval import unit_rows

COSINE_MEAN_MIN = 0.99  # below it in any category, the candidate is flagged
NEIGHBOURS = 10


@dataclass(frozen=True)
class Embedded:
    """Texts' vectors: row i is the text `ids[i]` of category `categories[i]`."""

    ids: tuple[str, ...]
    categories: tuple[str, ...]
    vectors: np.ndarray

    def keyed(self, prefix: str) -> dict[tuple[str, str], np.ndarray]:
        return {
            (f"{prefix}:{cat}", key): row
            for key, cat, row in zip(self.ids, self.categories, self.vectors, strict=True)
        }


@dataclass(frozen=True)
class QualityVectors:
    """What `embload quality` embedded: the retrieval set's documents (category: language) and
    queries (category: kind), and the built-in corpus (its categories, unmarked)."""

    documents: Embedded
    queries: Embedded
    corpus: Embedded

    @property
    def dimensions(self) -> int:
        return int(self.documents.vectors.shape[1])

    def compared(self) -> dict[tuple[str, str], np.ndarray]:
        """(category, id) -> vector of every text an agreement compares: queries are left out,
        their marks differ by model family."""
        return {**self.corpus.keyed("corpus"), **self.documents.keyed("docs")}


def neighbours(unit: np.ndarray, k: int) -> np.ndarray:
    """Each row's k most similar other rows (indices), ties in row order."""
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def neighbour_overlaps(baseline: np.ndarray, candidate: np.ndarray) -> np.ndarray | None:
    """Per text: the share of its nearest other texts that both models name (up to 10; fewer
    in a category of fewer texts); None for a single text."""
    k = min(NEIGHBOURS, len(baseline) - 1)
    if k < 1:
        return None
    ours, theirs = neighbours(unit_rows(baseline), k), neighbours(unit_rows(candidate), k)
    return np.array([len(set(a) & set(b)) / k for a, b in zip(ours, theirs, strict=True)])


def _category(baseline: np.ndarray, candidate: np.ndarray) -> tuple[CategoryAgreement, list[float]]:
    overlaps = neighbour_overlaps(baseline, candidate)
    cosines = None
    if baseline.shape[1] == candidate.shape[1]:
        cosines = (unit_rows(baseline) * unit_rows(candidate)).sum(axis=1)
    figures = CategoryAgreement(
        texts=len(baseline),
        cosine_mean=None if cosines is None else float(cosines.mean()),
        cosine_p1=None if cosines is None else float(np.percentile(cosines, 1)),
        cosine_min=None if cosines is None else float(cosines.min()),
        neighbour_overlap=None if overlaps is None else float(overlaps.mean()),
    )
    return figures, [] if overlaps is None else [float(v) for v in overlaps]


def agreement(
    baseline: QualityVectors, candidate: QualityVectors, names: tuple[str, str]
) -> Agreement:
    """The candidate against the baseline over the texts both embedded (matched by category and
    id). ValueError when they share none."""
    ours, theirs = baseline.compared(), candidate.compared()
    shared = [key for key in ours if key in theirs]
    if not shared:
        raise ValueError(f"{names[0]} and {names[1]} embedded no text in common")
    by_category: dict[str, list[tuple[str, str]]] = {}
    for key in shared:
        by_category.setdefault(key[0], []).append(key)
    categories: dict[str, CategoryAgreement] = {}
    every_overlap: list[float] = []
    for category, keys in by_category.items():
        figures, overlaps = _category(
            np.array([ours[k] for k in keys]), np.array([theirs[k] for k in keys])
        )
        categories[category] = figures
        every_overlap += overlaps
    low = {c: f.cosine_mean for c, f in categories.items() if f.cosine_mean is not None}
    below = {c: mean for c, mean in low.items() if mean < COSINE_MEAN_MIN}
    flags = []
    if below:  # one flag, however many categories: the table shows which
        worst = min(below, key=lambda c: below[c])
        flags.append(
            f"mean cosine below {COSINE_MEAN_MIN} in {len(below)} of {len(categories)} "
            f"categories, lowest {worst} {below[worst]:.4f}"
        )
    return Agreement(
        baseline=names[0],
        candidate=names[1],
        baseline_dimensions=baseline.dimensions,
        candidate_dimensions=candidate.dimensions,
        categories=categories,
        neighbour_overlap=float(np.mean(every_overlap)) if every_overlap else None,
        flags=flags,
    )
