from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from loadtest.loadgen.trim import PER_SECOND_KEPT_S, trim_stats


def _entry() -> SimpleNamespace:
    return SimpleNamespace(num_reqs_per_sec=defaultdict(int), num_fail_per_sec=defaultdict(int))


def test_per_second_counts_keep_the_last_minute_in_every_entry() -> None:
    total, entry = _entry(), _entry()
    for second in range(1_000, 1_200):
        for counts in (entry.num_reqs_per_sec, entry.num_fail_per_sec, total.num_reqs_per_sec):
            counts[second] = 5
    trim_stats(SimpleNamespace(total=total, entries={("/v1", "POST"): entry}), now=1_199.5)
    kept = list(range(1_199 - PER_SECOND_KEPT_S, 1_200))
    for counts in (entry.num_reqs_per_sec, entry.num_fail_per_sec, total.num_reqs_per_sec):
        assert sorted(counts) == kept
