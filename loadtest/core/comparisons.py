"""What a comparison produces, as typed models: compare.json is their JSON (`embload schema
compare`), each side's figures the same METRICS as a run's (core/results.py), and the quality
probe's figures."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loadtest.core.results import Cost, Figures, Model

# compare.json's own: 2 since the error rate's interval is in points and sides are by position
COMPARE_SCHEMA_VERSION: Literal[2] = 2


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
    """One target's figures in one scenario, pooled over its runs (the halves of ABBA)."""

    run_dirs: list[str]
    target: str
    model: str | None
    weights: str | None
    duration_s: float
    oom_events: int
    peak_gpu_mem_bytes: int | None
    startup_s: float | None
    cost: Cost | None = None


class ScenarioComparison(Model):
    scenario: str
    a: Side
    b: Side
    differences: list[Difference]


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


class Comparison(Model):
    """compare.json: two targets (or two saved runs) on the same scenarios."""

    schema_version: Literal[2] = COMPARE_SCHEMA_VERSION
    a: str
    b: str
    seed: int
    generated_at: str
    scenarios: list[ScenarioComparison]
    probe: dict[Literal["a", "b"], ProbeResult] = Field(description="by side: a, b")

    def probes_by_name(self) -> dict[str, ProbeResult]:
        """The probes as tables head them: by target name, with the side where both are one."""
        same = self.a == self.b
        names = {"a": f"{self.a} (A)" if same else self.a, "b": f"{self.b} (B)" if same else self.b}
        return {names[side]: result for side, result in sorted(self.probe.items())}
