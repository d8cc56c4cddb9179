"""Locust's per-second counts, kept to the last minute.

Locust keeps a count of requests (and failures) per second of the test in each of its stats
entries, for ever, though it reads only the last 12 s (`current_rps`): over a long soak that is
the Locust process's one steady growth (bench/soak.py found it). Free of Locust's imports, so
it can be tested without gevent's monkey-patching.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Protocol

PER_SECOND_KEPT_S = 60


class _Entry(Protocol):
    num_reqs_per_sec: MutableMapping[int, int]
    num_fail_per_sec: MutableMapping[int, int]


def trim_stats(stats: Any, now: float) -> None:
    """Every entry's per-second counts older than a minute dropped (`stats`: Locust's
    RequestStats: its `total` and its `entries`)."""
    oldest = int(now) - PER_SECOND_KEPT_S
    entries: list[_Entry] = [stats.total, *stats.entries.values()]
    for entry in entries:
        for counts in (entry.num_reqs_per_sec, entry.num_fail_per_sec):
            for second in [t for t in counts if t < oldest]:
                del counts[second]
