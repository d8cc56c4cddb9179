from __future__ import annotations

from loadtest.core.live import LiveFigures
from loadtest.core.record import RecordRow
from loadtest.core.stats import latency_ms
from loadtest.core.types import ErrorKind


def _row(latency_s: float, category: str, error: ErrorKind | None = None) -> RecordRow:
    return RecordRow(1.0, latency_s, 200, error, None, 1, 10, 3, category, "s", 0, "local")


def test_exact_percentiles_per_category_and_for_all() -> None:
    live = LiveFigures()
    zh = [0.001 * (i + 1) for i in range(100)]
    live.add(_row(s, "zh") for s in zh)
    live.add([_row(0.5, "en"), _row(9.0, "en", ErrorKind.TIMEOUT)])
    rows = {r["name"]: r for r in live.table()}
    assert list(rows) == ["en", "zh", "all"]
    assert rows["zh"]["p99"] == f"{latency_ms(zh).p99:.2f}" and rows["zh"]["failed"] == 0
    assert (rows["en"]["requests"], rows["en"]["failed"], rows["en"]["p50"]) == (2, 1, "500.00")
    assert rows["all"]["requests"] == 102 and rows["all"]["max"] == "500.00"


def test_one_category_is_also_all_and_nothing_yet_is_no_row() -> None:
    live = LiveFigures()
    assert live.table() == []
    live.add([_row(0.002, "code")])
    code, everything = live.table()
    assert code["name"] == "code" and {**everything, "name": "code"} == code
