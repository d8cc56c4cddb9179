"""How figures read in every report, terminal and HTML alike: milliseconds, rates, MiB, percents,
URLs without credentials, and the rows of a comparison, of a quality probe, of retrieval quality
and of agreement with a baseline."""

from __future__ import annotations

from dataclasses import dataclass

from loadtest.core.agreement import COSINE_MEAN_MIN
from loadtest.core.comparisons import (
    Consistency,
    CosineStats,
    ProbeResult,
)
from loadtest.core.quality import PAIR_NAMES, Agreement, PairQuality, QualityResult


def number(value: float | None) -> str:
    """Milliseconds and rates alike: 2 decimals under 10, 1 under 100, whole numbers above."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def mib(n_bytes: float | None) -> str:
    return "-" if n_bytes is None else f"{n_bytes / (1 << 20):,.0f} MiB"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def metric_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2%}" if metric == "error_rate" else number(value)


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4g}"


_CONSISTENCY = (
    ("same_text", "same text twice"),
    ("in_batch", "alone vs in batch of 64"),
    ("under_load_worst", "worst during the runs"),
    ("burst_worst", "worst in a 64-way burst"),
)


def _consistency(figures: Consistency | None, key: str) -> float | None:
    if figures is None:
        return None
    value: float | None = getattr(figures, key)
    return value


# Retrieval quality, agreement with a baseline, and the probe with candidates as rows: the rows
# the terminal and the HTML both show, every figure already text.

NAME_WIDTH = 16  # a candidate longer than this is named by its key (#1) and a legend line


def candidate_labels(names: list[str]) -> tuple[list[str], list[str]]:
    """How tables name candidates, and the legend lines that say who a key is (none when every
    name fits): a URL never has to be cut to fit 80 columns."""
    if all(len(n) <= NAME_WIDTH for n in names):
        return list(names), []
    keys = [f"#{i}" for i in range(1, len(names) + 1)]
    return keys, [f"{key} = {name}" for key, name in zip(keys, names, strict=True)]


def fraction(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def skipped_lines(section: str, reasons: dict[str, str | None]) -> list[str]:
    """`section: skipped for a, b: reason`, one line per reason, for the candidates skipped."""
    by_reason: dict[str, list[str]] = {}
    for name, why in reasons.items():
        if why:
            by_reason.setdefault(why, []).append(name)
    return [f"{section}: skipped for {', '.join(n)}: {why}" for why, n in by_reason.items()]


QUALITY_COLUMNS = ("P@5", "R@10", "nDCG@10", "MRR")
AGREEMENT_COLUMNS = ("texts", "cos mean", "cos P1", "cos min", "top-10")


@dataclass(frozen=True)
class GroupRow:
    """One candidate's figures in a group (a pair, a category): `group` names it on its first
    row alone; `cells` as QUALITY_COLUMNS or AGREEMENT_COLUMNS."""

    group: str
    candidate: str
    cells: list[str]
    last: bool  # the group's last row
    marked: bool = False  # quality: the macro average; agreement: a mean cosine under the limit


def _fractions(f: PairQuality | None) -> list[str]:
    values = (f.precision_at_5, f.recall_at_10, f.ndcg_at_10, f.mrr) if f else (None,) * 4
    return [fraction(v) for v in values]


def quality_rows(results: dict[str, QualityResult]) -> list[GroupRow]:
    """Grouped by pair (PAIR_NAMES' order, then "all"), the measured candidates in each."""
    measured = {n: r for n, r in results.items() if r.skipped is None}
    labels = candidate_labels(list(measured))[0]
    names = [p for p in PAIR_NAMES if any(p in r.pairs for r in measured.values())]
    return [
        GroupRow(
            group=pair if i == 0 else "",
            candidate=label,
            cells=_fractions(r.overall if pair == "all" else r.pairs.get(pair)),
            last=i == len(measured) - 1,
            marked=pair == "all",
        )
        for pair in [*names, "all"]
        for i, (label, r) in enumerate(zip(labels, measured.values(), strict=True))
    ]


def quality_lines(results: dict[str, QualityResult]) -> list[tuple[str, str]]:
    """(level, text) under the table: who each candidate is and what it took, then those not
    measured."""
    measured = {n: r for n, r in results.items() if r.skipped is None}
    labels, legend = candidate_labels(list(measured)) if len(measured) > 1 else ([*measured], [])
    lines = [
        f"{label}: {r.model or 'model unnamed'}{'' if r.target == label else f' at {r.target}'}"
        f" · marks: {r.marking} · "
        f"{r.documents:,} documents, {r.queries:,} queries · {r.texts_embedded:,} texts in "
        f"{r.elapsed_s:.1f} s, {r.batch_size} a request"
        for label, r in zip(labels, measured.values(), strict=True)
    ]
    skipped = skipped_lines("retrieval quality", {n: r.skipped for n, r in results.items()})
    return [("info", t) for t in [*legend, *lines]] + [("warn", t) for t in skipped]


def agreement_rows(agreements: list[Agreement]) -> list[GroupRow]:
    """Grouped by category, in the first candidate's order; each candidate's figures in it."""
    labels = candidate_labels([a.candidate for a in agreements])[0]
    rows = []
    for category in dict.fromkeys(c for a in agreements for c in a.categories):
        having = [
            (lb, a.categories.get(category)) for lb, a in zip(labels, agreements, strict=True)
        ]
        present = [(lb, f) for lb, f in having if f is not None]
        for i, (label, f) in enumerate(present):
            cosines = [fraction(v, 4) for v in (f.cosine_mean, f.cosine_p1, f.cosine_min)]
            low = f.cosine_mean is not None and f.cosine_mean < COSINE_MEAN_MIN
            cells = [str(f.texts), *cosines, fraction(f.neighbour_overlap, 2)]
            rows.append(
                GroupRow(category if i == 0 else "", label, cells, i == len(present) - 1, low)
            )
    return rows


def agreement_lines(agreements: list[Agreement]) -> list[tuple[str, str]]:
    """(level, text): the legend, candidates of another dimension, and the flags."""
    several = len(agreements) > 1
    labels, legend = candidate_labels([a.candidate for a in agreements]) if several else ([], [])
    lines = [("info", line) for line in legend]
    for label, a in zip(labels or [a.candidate for a in agreements], agreements, strict=True):
        if a.baseline_dimensions != a.candidate_dimensions:
            lines.append(
                (
                    "info",
                    f"{label}: {a.candidate_dimensions} dimensions against the baseline's "
                    f"{a.baseline_dimensions}: neighbour overlap only",
                )
            )
        lines += [("bad", f"{label}: {flag}") for flag in a.flags]
    return lines


@dataclass(frozen=True)
class ProbeCell:
    auc: str
    related: str  # "mean ± std" cosine of the related pairs, "-" where there are none
    unrelated: str


@dataclass(frozen=True)
class ProbeCandidate:
    """One probed candidate: its cells per category, then its consistency cosines."""

    candidate: str
    cells: list[ProbeCell]
    consistency: list[str]  # as CONSISTENCY_LABELS


CONSISTENCY_LABELS = [label for _, label in _CONSISTENCY]


def _spread(stats: CosineStats | None) -> str:
    return "-" if stats is None else f"{stats.mean:.2f} ± {stats.std:.2f}"


def probe_candidates(probes: dict[str, ProbeResult]) -> tuple[list[str], list[ProbeCandidate]]:
    """The categories (in the first probed candidate's order) and a row per probed candidate."""
    probed = {n: r for n, r in probes.items() if r.skipped is None}
    labels = candidate_labels(list(probed))[0]
    categories = list(dict.fromkeys(c for r in probed.values() for c in r.separation))
    rows = []
    for label, r in zip(labels, probed.values(), strict=True):
        seps = [r.separation.get(c) for c in categories]
        cells = [
            ProbeCell("-", "-", "-")
            if sep is None
            else ProbeCell(fraction(sep.auc, 2), _spread(sep.related), _spread(sep.unrelated))
            for sep in seps
        ]
        consistency = [fraction(_consistency(r.consistency, key), 6) for key, _ in _CONSISTENCY]
        rows.append(ProbeCandidate(label, cells, consistency))
    return categories, rows


def probe_lines(probes: dict[str, ProbeResult]) -> list[tuple[str, str]]:
    """(level, text) under the probe's tables: the legend, drift flags, those not probed."""
    probed = [n for n, r in probes.items() if r.skipped is None]
    labels, legend = candidate_labels(probed)
    label_of = dict(zip(probed, labels, strict=True))
    flags = [("bad", f"{label_of[n]}: {f}") for n, r in probes.items() for f in r.flags]
    skipped = skipped_lines("quality probe", {n: r.skipped for n, r in probes.items()})
    return [("info", line) for line in legend] + flags + [("warn", s) for s in skipped]
