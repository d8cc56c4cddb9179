"""What a comparison produces, as typed models: compare.json is their JSON (`embload schema
compare`), each candidate's figures the same METRICS as a run's (core/results.py), what it costs
and holds in memory, its capacity within an SLO, and the quality probe's figures."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loadtest.core.model import Model
from loadtest.core.quality import Agreement, QualityResult
from loadtest.core.results import Cost, Figures

# compare.json's own: 3 since it holds N candidates (each against the baseline), not sides a, b
COMPARE_SCHEMA_VERSION: Literal[3] = 3


class Difference(Model):
    metric: str
    a: float | None
    b: float | None
    ratio: float | None = Field(description="b / a")
    low: float | None = Field(description="lower end of the 95% interval (see interval_of)")
    high: float | None = Field(description="upper end of the 95% interval (see interval_of)")
    interval_of: Literal["b/a - 1", "b - a"] = Field(
        default="b/a - 1",
        description="what low and high bound: the relative difference (latencies and rates), "
        "or the difference itself (the error rate, in fractions: 0.01 is one point)",
    )
    verdict: str


class Side(Figures):
    """One candidate's figures in one scenario, pooled over its runs (the halves of the
    balanced order)."""

    candidate: str = Field(default="", description="the candidate's name in this comparison")
    run_dirs: list[str]
    target: str
    model: str | None
    weights: str | None
    duration_s: float
    oom_events: int
    peak_gpu_mem_bytes: int | None
    peak_rss_bytes: int | None = Field(
        default=None, description="the server process tree's peak RSS, when its PID was known"
    )
    startup_s: float | None
    cost: Cost | None = None


class Versus(Model):
    """One candidate against the baseline, in one scenario."""

    candidate: str
    differences: list[Difference]


class ScenarioComparison(Model):
    scenario: str
    baseline: str
    sides: list[Side] = Field(description="every candidate's figures, in the candidates' order")
    versus: list[Versus] = Field(description="each candidate but the baseline against it")

    def side(self, name: str) -> Side:
        return next(s for s in self.sides if s.candidate == name)


class CosineStats(Model):
    mean: float
    std: float
    n: int


class Separation(Model):
    related: CosineStats | None
    unrelated: CosineStats
    auc: float | None = Field(
        description="P(related cosine > unrelated cosine), ties half: 0.5 chance, 1.0 perfect"
    )


class Consistency(Model):
    same_text: float = Field(description="cosine of one text embedded twice")
    in_batch: float = Field(description="cosine of a text alone vs inside a batch of 64")
    under_load_worst: float | None = Field(
        description="worst cosine of a reply sampled during the runs vs the text at rest"
    )
    under_load_samples: int
    burst_worst: float = Field(
        description="worst cosine of each probe text from 64 concurrent requests vs at rest"
    )


class ProbeResult(Model):
    target: str
    model: str | None
    skipped: str | None = None
    texts: int = 0
    separation: dict[str, Separation] = Field(default_factory=dict)
    consistency: Consistency | None = None
    flags: list[str] = Field(default_factory=list)


class Capacity(Model):
    """The highest rate a candidate served within the SLO (`embload sweep --slo`'s search)."""

    slo: str
    scenario: str
    sweep_dir: str
    max_rps_within_slo: float | None = Field(description="null: not even the lowest rate held")
    tokens_per_s: float | None = Field(description="input tokens a second at that rate")
    usd_per_1m_tokens: float | None = Field(description="gpu_cost_per_hour at that rate")


class Candidate(Model):
    """One candidate's deployment facts, beside its figures per scenario."""

    name: str = Field(description="unique in the comparison: a name given twice gets (A), (B)")
    target: str = Field(description="its url, credentials removed; or the saved run's directory")
    model: str | None
    weights: str | None = Field(description="'random': speed and memory only")
    quantize: str | None = None
    weight_bytes: int | None = Field(default=None, description="as its server says")
    load_s: float | None = Field(
        default=None, description="seconds its server took to load (and quantize) the model"
    )
    startup_s: float | None = Field(description="process start to ready, when embload started it")
    peak_gpu_mem_bytes: int | None = Field(description="over all its runs")
    peak_rss_bytes: int | None = Field(description="its server's process tree, over all runs")
    usd_per_hour: float | None = Field(description="its gpu_cost_per_hour")
    usd_per_1m_tokens: float | None = Field(
        description="at the rate of its heaviest scenario (the last), from gpu_cost_per_hour"
    )
    capacity: Capacity | None = None
    quality: QualityResult | None = None
    agreement: Agreement | None = Field(
        default=None, description="its vectors against the baseline's, for the same texts"
    )
    probe: ProbeResult | None = None
    server_log: str | None = Field(default=None, description="when embload started its server")
    not_measured: str | None = Field(
        default=None, description="why it has no figures: it failed before or during its runs"
    )


class Pareto(Model):
    """The candidates no other beats on both speed (capacity, or cost at capacity) and
    retrieval quality (nDCG@10 over all pairs)."""

    speed: Literal["capacity", "cost"]
    front: list[str]


class Comparison(Model):
    """compare.json: N candidates (targets or saved runs) on the same scenarios, each against
    the baseline."""

    schema_version: Literal[3] = COMPARE_SCHEMA_VERSION
    baseline: str
    candidates: list[Candidate]
    order: list[str] = Field(description="the balanced order the runs took, one name a visit")
    level: float = Field(
        description="each interval's level: 95% over the family of N - 1 (Bonferroni)"
    )
    seed: int
    generated_at: str
    scenarios: list[ScenarioComparison]
    slo: str | None = None
    pareto: Pareto | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.candidates]

    def probes_by_name(self) -> dict[str, ProbeResult]:
        return {c.name: c.probe for c in self.candidates if c.probe is not None}

    def qualities_by_name(self) -> dict[str, QualityResult]:
        return {c.name: c.quality for c in self.candidates if c.quality is not None}

    def agreements(self) -> list[Agreement]:
        return [c.agreement for c in self.candidates if c.agreement is not None]
