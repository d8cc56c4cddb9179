"""The quality part of an HTML page, for any number of candidates: retrieval quality per pair,
agreement with the baseline per category of text, and the quality probe, as plain rows for
`templates/_quality.html.j2` (the same rows the terminal shows, output/formats.py).

A page includes the partial where it wants the section, with the section as `quality`:

    page = env.get_template("compare.html.j2").render(..., quality=quality_section(...))
    {% if quality %}{% include "_quality.html.j2" %}{% endif %}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtest.core.comparisons import ProbeResult
from loadtest.core.quality import Agreement, QualityResult
from loadtest.output.formats import (
    AGREEMENT_COLUMNS,
    CONSISTENCY_LABELS,
    QUALITY_COLUMNS,
    GroupRow,
    ProbeCandidate,
    agreement_lines,
    agreement_rows,
    probe_candidates,
    probe_lines,
    quality_lines,
    quality_rows,
)


@dataclass(frozen=True)
class Note:
    level: str  # info, warn or bad: the banner's class
    text: str


@dataclass(frozen=True)
class QualitySection:
    """Everything `_quality.html.j2` reads; an empty list is a table not drawn."""

    quality_columns: tuple[str, ...] = QUALITY_COLUMNS
    quality_rows: list[GroupRow] = field(default_factory=list)
    quality_notes: list[Note] = field(default_factory=list)
    agreement_baseline: str | None = None
    agreement_columns: tuple[str, ...] = AGREEMENT_COLUMNS
    agreement_rows: list[GroupRow] = field(default_factory=list)
    agreement_notes: list[Note] = field(default_factory=list)
    probe_categories: list[str] = field(default_factory=list)
    probe_rows: list[ProbeCandidate] = field(default_factory=list)
    consistency_labels: tuple[str, ...] = tuple(CONSISTENCY_LABELS)
    probe_notes: list[Note] = field(default_factory=list)

    @property
    def several(self) -> bool:
        """Whether the quality table names its candidates (it does not for one)."""
        return len({r.candidate for r in self.quality_rows}) > 1

    @property
    def several_agreeing(self) -> bool:
        return len({r.candidate for r in self.agreement_rows}) > 1


def quality_section(
    quality: dict[str, QualityResult] | None = None,
    agreements: list[Agreement] | None = None,
    probes: dict[str, ProbeResult] | None = None,
) -> QualitySection | None:
    """The section's rows, by candidate name (in the order given); None when there is nothing
    to show at all. A candidate that was skipped is a note, not a row of dashes."""
    quality, agreements, probes = quality or {}, agreements or [], probes or {}
    if not (quality or agreements or probes):
        return None
    categories, candidates = probe_candidates(probes)
    return QualitySection(
        quality_rows=quality_rows(quality),
        quality_notes=[Note(level, text) for level, text in quality_lines(quality)],
        agreement_baseline=agreements[0].baseline if agreements else None,
        agreement_rows=agreement_rows(agreements),
        agreement_notes=[Note(level, text) for level, text in agreement_lines(agreements)],
        probe_categories=categories,
        probe_rows=candidates,
        probe_notes=[Note(level, text) for level, text in probe_lines(probes)],
    )
