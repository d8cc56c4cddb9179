"""Two sides of saved runs, compared: each side's figures pooled over its runs (the halves of an
ABBA compare, or one saved run), and each metric's difference with a block-bootstrap interval
and a verdict (core/compare.py). What `embload compare` of targets or run directories, and
`embload history`'s regression verdicts, are computed from.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from loadtest.core.columns import concat
from loadtest.core.compare import SideData, compare_sides, pooled, side_data
from loadtest.core.comparisons import Comparison, ProbeResult, ScenarioComparison, Side
from loadtest.core.stats import cost, figures
from loadtest.store.files import read_summary
from loadtest.store.table import read_columns

# One scenario's run directories: A's, then B's (two each for an ABBA run).
RunPairs = tuple[list[Path], list[Path]]
Position = Literal["a", "b"]


def _side(run_dirs: list[Path]) -> tuple[str, Side, SideData]:
    """One side's scenario, its figures (METRICS, over its pooled requests) and its data for
    the bootstrap."""
    summaries = [read_summary(d) for d in run_dirs]
    columns = [read_columns(d, timing=False) for d in run_dirs]
    parts = [
        side_data(c, s.started_at_unix, s.duration_s)
        for c, s in zip(columns, summaries, strict=True)
    ]
    duration_s = sum(s.duration_s for s in summaries)
    first = summaries[0]
    gpu_peaks = [s.gpu.peak_mem_used_bytes for s in summaries if s.gpu]
    overall = figures(concat(columns), duration_s)
    return (
        first.scenario,
        Side(
            **dict(overall),
            run_dirs=[str(d) for d in run_dirs],
            target=first.target,
            model=first.model,
            weights=first.server_model.weights if first.server_model else None,
            duration_s=duration_s,
            oom_events=sum(len(s.oom_events) for s in summaries),
            peak_gpu_mem_bytes=max(gpu_peaks) if gpu_peaks else None,
            startup_s=first.startup.ready_s if first.startup else None,
            # the side's price over its pooled rates
            cost=cost(first.cost.usd_per_hour, overall) if first.cost is not None else None,
        ),
        pooled(parts),
    )


def compare_runs(
    dirs_a: list[Path], dirs_b: list[Path], names: tuple[str, str], seed: int
) -> ScenarioComparison:
    """One scenario's comparison; each side one run directory or the halves of an ABBA run."""
    (scenario, a, data_a), (_, b, data_b) = _side(dirs_a), _side(dirs_b)
    return ScenarioComparison(
        scenario=scenario,
        a=a,
        b=b,
        differences=compare_sides(data_a, data_b, names, seed),
    )


def comparison(
    pairs: dict[str, RunPairs],
    names: tuple[str, str],
    seed: int,
    probes: dict[Position, ProbeResult],
) -> Comparison:
    """compare.json: every scenario's comparison, with each side's quality probe."""
    return Comparison(
        a=names[0],
        b=names[1],
        seed=seed,
        generated_at=datetime.now().astimezone().isoformat(),
        scenarios=[compare_runs(da, db, names, seed) for da, db in pairs.values()],
        probe=probes,
    )
