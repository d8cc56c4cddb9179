"""What `embload quality` produces, as typed models: quality.json (a target's retrieval quality
on the bundled retrieval set, core/retrieval.py) and a candidate's agreement with a baseline
(core/agreement.py). Every figure is a fraction from 0 to 1 unless its name says otherwise."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loadtest.core.model import Model

QUALITY_SCHEMA_VERSION: Literal[1] = 1  # raised when a field changes meaning or goes away

# pairs are named "query language->document language"; "text->code" is both query languages
PAIR_NAMES = ("zh->zh", "zh->en", "zh->ja", "en->en", "en->zh", "text->code")


class PairQuality(Model):
    """One pair's figures, each averaged over the pair's queries (a macro average over the
    pairs for `overall`). Only the pair's document language is ranked, by cosine."""

    precision_at_5: float = Field(
        description="relevant documents (grade >= 1) among the first 5, over 5"
    )
    recall_at_10: float = Field(
        description="relevant documents (grade >= 1) among the first 10, over all relevant"
    )
    ndcg_at_10: float = Field(
        description="DCG of the first 10 (gain 2^grade - 1, discount log2(rank + 1)) over the "
        "DCG of the ideal order of all the pool's relevant documents"
    )
    mrr: float = Field(description="1 / rank of the first relevant document, over the full ranking")
    queries: int = Field(description="queries averaged (those with a relevant document)")


class QualityResult(Model):
    """quality.json: one target's retrieval quality on the bundled set."""

    schema_version: Literal[1] = QUALITY_SCHEMA_VERSION
    target: str = Field(description="the target's base URL, without credentials")
    model: str | None
    marking: str = Field(description="what was put on queries and documents (core/marking.py)")
    skipped: str | None = Field(default=None, description="why nothing was measured, if so")
    documents: int = Field(default=0, description="documents embedded, all languages")
    queries: int = Field(default=0, description="queries embedded, both languages")
    dimensions: int | None = Field(default=None, description="the vectors' length")
    pairs: dict[str, PairQuality] = Field(
        default_factory=dict,
        description="by pair: zh->zh, zh->en, zh->ja, en->en, en->zh, "
        "text->code (code queries of both languages against the code snippets)",
    )
    overall: PairQuality | None = Field(
        default=None, description="the pairs' figures averaged, each pair counting once"
    )
    texts_embedded: int = Field(
        default=0, description="every text sent: documents, queries and the built-in corpus"
    )
    elapsed_s: float = Field(default=0.0, description="wall-clock seconds the embedding took")
    batch_size: int = Field(default=32, description="texts per request")


class CategoryAgreement(Model):
    """A candidate's vectors against the baseline's for one category's texts."""

    texts: int
    cosine_mean: float | None = Field(
        description="mean cosine of each text's two vectors; None when the dimensions differ"
    )
    cosine_p1: float | None = Field(description="1st percentile of the same cosines")
    cosine_min: float | None = Field(description="the lowest of the same cosines")
    neighbour_overlap: float | None = Field(
        description="mean share of each text's 10 nearest other texts (of its category) that "
        "both models name; None when the category has one text"
    )


class Agreement(Model):
    """How close a candidate's vectors are to the baseline's, for the same texts: the built-in
    corpus's categories (`corpus:zh`, ...) and the retrieval set's languages (`docs:en`, ...)."""

    baseline: str
    candidate: str
    baseline_dimensions: int
    candidate_dimensions: int
    categories: dict[str, CategoryAgreement]
    neighbour_overlap: float | None = Field(
        description="neighbour_overlap over every text of every category"
    )
    flags: list[str] = Field(default_factory=list)
