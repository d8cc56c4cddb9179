"""The figures of a test while it runs, for Locust's web UI: exact percentiles per category.

Locust's own table rounds each response time into buckets (to two significant figures above
100 ms) before its percentiles; this one keeps every successful request's latency as the
records are written (8 bytes each: 8 MB a million) and computes the same percentiles a run's
summary does (stats.latency_ms), per category and for all.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

from loadtest.core.record import RecordRow
from loadtest.core.stats import latency_ms

ALL = "all"


class LiveFigures:
    """Per category: every successful latency (seconds) and the count of failed requests."""

    def __init__(self) -> None:
        self._ok: dict[str, array[float]] = {}
        self._failed: dict[str, int] = {}

    def add(self, rows: Iterable[RecordRow]) -> None:
        for row in rows:
            category = row.category
            if row.error is None:
                self._ok.setdefault(category, array("d")).append(row.latency_s)
            else:
                self._failed[category] = self._failed.get(category, 0) + 1

    def table(self) -> list[dict[str, str | int]]:
        """A row per category and one for all: requests, failed, P50/P90/P99/P99.9/max in ms;
        none before the first record."""
        categories = sorted(set(self._ok) | set(self._failed))
        if not categories:
            return []
        rows = [
            self._row(c, [self._ok.get(c, array("d"))], self._failed.get(c, 0)) for c in categories
        ]
        if len(categories) != 1:
            everything = list(self._ok.values())
            rows.append(self._row(ALL, everything, sum(self._failed.values())))
        else:
            rows.append({**rows[0], "name": ALL})
        return rows

    @staticmethod
    def _row(name: str, parts: list[array[float]], failed: int) -> dict[str, str | int]:
        buffers = [np.frombuffer(part, dtype=np.float64) for part in parts if len(part)]
        values = np.concatenate(buffers) if buffers else np.empty(0)
        lat = latency_ms(values)

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        return {
            "name": name,
            "requests": int(values.size) + failed,
            "failed": failed,
            "p50": ms(lat.p50),
            "p90": ms(lat.p90),
            "p99": ms(lat.p99),
            "p999": ms(lat.p999),
            "max": ms(lat.max),
        }
