"""The compare table's rows as the terminal and compare.html show them."""

from __future__ import annotations

from loadtest.core.stats import cost
from loadtest.output.formats import compare_rows
from tests.support.compare import comparison


def test_a_cost_row_when_either_side_has_a_price() -> None:
    entry = comparison()
    assert "usd_per_1m_tokens" not in {r.metric for r in compare_rows(entry)}
    tokens = entry.a.model_copy(update={"tokens_per_s": 1000.0})
    priced = tokens.model_copy(update={"cost": cost(3.0, tokens)})
    rows = {r.metric: r for r in compare_rows(entry.model_copy(update={"a": priced}))}
    row = rows["usd_per_1m_tokens"]
    assert row.a == f"${3.0 / 3600 / 1000 * 1e6:,.4g}" and row.b == "-"
