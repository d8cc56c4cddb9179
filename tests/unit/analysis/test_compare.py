"""N candidates' saved runs compared against a baseline, where the right verdicts are known:
one candidate twice as slow as the baseline, one drawn from the same distribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.analysis.compare import Measured, compare_runs, comparison
from loadtest.core.compare import regressions
from loadtest.core.comparisons import Capacity, Comparison
from loadtest.core.quality import PairQuality, QualityResult
from tests.support.synthetic import write_run

_N = 3000


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    write_run(base / "base", _N, seed=1)
    write_run(base / "slow", _N, seed=2, slower=2.0)  # every latency doubled
    write_run(base / "same", _N, seed=3)
    return {name: base / name for name in ("base", "slow", "same")}


def _compare(runs: dict[str, Path], baseline: int = 0) -> Comparison:
    names = list(runs)
    measured = [Measured(name=n, target=str(d), run_dirs=[d]) for n, d in runs.items()]
    return comparison({"saved": [[d] for d in runs.values()]}, measured, baseline, 0, names)


def test_each_candidate_is_judged_against_the_baseline_at_the_family_level(
    runs: dict[str, Path],
) -> None:
    result = _compare(runs)
    assert result.schema_version == 3 and result.baseline == "base"
    assert result.level == pytest.approx(0.975)  # two comparisons hold together at 95%
    (entry,) = result.scenarios
    assert [s.candidate for s in entry.sides] == ["base", "slow", "same"]
    assert [v.candidate for v in entry.versus] == ["slow", "same"]
    slow = {d.metric: d for d in entry.versus[0].differences}
    assert slow["p50"].ratio == pytest.approx(2.0, rel=0.05)
    assert slow["p50"].low is not None and slow["p50"].low > 0.8
    assert slow["p50"].verdict.startswith("base faster by 5")
    same = {d.metric: d for d in entry.versus[1].differences}
    for metric in ("p50", "p90", "p99"):
        assert same[metric].verdict == "no significant difference", same[metric]
    assert regressions(result.scenarios, 0.1)[:1] == [f"peak p50: {slow['p50'].verdict}"]
    assert all("same" not in line for line in regressions(result.scenarios, 0.1))


def test_the_family_level_widens_each_interval(runs: dict[str, Path]) -> None:
    pair = [[runs["base"]], [runs["slow"]]]
    alone = compare_runs(pair, ["base", "slow"], 0, 0, level=0.95)
    family = compare_runs(pair, ["base", "slow"], 0, 0, level=0.975)
    for a, f in zip(alone.versus[0].differences, family.versus[0].differences, strict=True):
        if a.low is None or a.high is None or f.low is None or f.high is None:
            continue
        assert f.ratio == a.ratio and f.low < a.low and f.high > a.high, a.metric


def test_another_baseline_is_judged_against(runs: dict[str, Path]) -> None:
    (entry,) = _compare(runs, baseline=1).scenarios
    assert entry.baseline == "slow" and [v.candidate for v in entry.versus] == ["base", "same"]
    base = {d.metric: d for d in entry.versus[0].differences}
    assert base["p50"].verdict.startswith("base faster by 5")


def _quality(ndcg: float) -> QualityResult:
    pair = PairQuality(precision_at_5=0.5, recall_at_10=0.5, ndcg_at_10=ndcg, mrr=0.5, queries=10)
    return QualityResult(target="t", model="m", marking="none", overall=pair)


def test_the_pareto_front_weighs_capacity_against_quality(runs: dict[str, Path]) -> None:
    def capacity(rps: float) -> Capacity:
        return Capacity(
            slo="p99<100ms",
            scenario="peak",
            sweep_dir="s",
            max_rps_within_slo=rps,
            tokens_per_s=None,
            usd_per_1m_tokens=None,
        )

    facts = {"base": (100.0, 0.60), "slow": (50.0, 0.80), "same": (90.0, 0.55)}
    measured = [
        Measured(
            name=n,
            target=str(d),
            run_dirs=[d],
            capacity=capacity(facts[n][0]),
            quality=_quality(facts[n][1]),
        )
        for n, d in runs.items()
    ]
    result = comparison({"saved": [[d] for d in runs.values()]}, measured, 0, 0, list(runs))
    assert result.pareto is not None and result.pareto.speed == "capacity"
    assert result.pareto.front == ["base", "slow"]  # same: base is faster and better


def test_a_candidate_not_measured_is_kept_with_its_reason(runs: dict[str, Path]) -> None:
    measured = [
        Measured(name="base", target="b", run_dirs=[runs["base"]]),
        Measured(name="broken", target="x", not_measured="broken: the server exited (log: l)"),
        Measured(name="same", target="s", run_dirs=[runs["same"]]),
    ]
    sets = {"saved": [[runs["base"]], [], [runs["same"]]]}
    result = comparison(sets, measured, 0, 0, ["base", "broken", "same"])
    assert [c.not_measured for c in result.candidates] == [None, measured[1].not_measured, None]
    (entry,) = result.scenarios
    assert [s.candidate for s in entry.sides] == ["base", "same"]
    assert result.pareto is None
