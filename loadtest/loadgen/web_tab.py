"""embload's tab in Locust's web UI: percentiles per category while a test runs (exact, then
within 0.1% in bounded memory: core/live.py), the summary's exact figures and a link to
report.html once it has stopped.

Locust's documented way to extend its web UI (examples/extend_web_ui.py): a tab and its table
named in the UI's template arguments, and the table's rows added to the JSON the UI polls,
`/stats/requests`, as `extended_stats`. The figures come from the records as they are written
(core/live.py), not from Locust's rounded buckets. `/embload/report` serves the last report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Response, request, send_file

from loadtest.core.live import ALL, LiveFigures, table_row
from loadtest.core.results import RunSummary

KEY = "embload"
REPORT_ROUTE = "/embload/report"
_COLUMNS = (
    ("name", "Category"),
    ("requests", "Requests"),
    ("failed", "Failed"),
    ("p50", "P50 ms"),
    ("p90", "P90 ms"),
    ("p99", "P99 ms"),
    ("p999", "P99.9 ms"),
    ("max", "Max ms"),
    ("report", "Report"),
)


@dataclass
class LiveTab:
    """One test's figures, and its report once written."""

    figures: LiveFigures = field(default_factory=LiveFigures)
    report: Path | None = None
    final: list[dict[str, str | int]] | None = None  # the summary's, once the test stopped

    def rows(self) -> list[dict[str, str | int]]:
        link = REPORT_ROUTE if self.report is not None else "when the test stops"
        rows = self.final if self.final is not None else self.figures.table()
        return [{**row, "report": link} for row in rows]

    def stopped(self, summary: RunSummary) -> None:
        """The live figures give way to the summary's: exact, from every record."""
        rows = [
            table_row(name, f.ok, f.requests - f.ok, f.latency_ms)
            for name, f in sorted(summary.by_category.items())
        ]
        rows.append(table_row(ALL, summary.ok, summary.requests - summary.ok, summary.latency_ms))
        self.final = rows


def install(web_ui: Any, current: Any) -> None:
    """The tab on Locust's `web_ui`; `current()` is the LiveTab of the test shown (or None)."""
    web_ui.template_args["extended_tabs"] = [{"title": "embload", "key": KEY}]
    web_ui.template_args["extended_tables"] = [
        {"key": KEY, "structure": [{"key": k, "title": t} for k, t in _COLUMNS]}
    ]

    def extend(response: Response) -> Response:
        if request.path != "/stats/requests" or response.status_code != 200:
            return response
        tab: LiveTab | None = current()
        rows = tab.rows() if tab is not None else []
        doc = {**(response.json or {}), "extended_stats": [{"key": KEY, "data": rows}]}
        response.set_data(json.dumps(doc))
        return response

    def report() -> Response | tuple[str, int]:
        tab: LiveTab | None = current()
        if tab is None or tab.report is None or not tab.report.is_file():
            return "no report yet: it is written when the test stops", 404
        return send_file(tab.report.resolve(), mimetype="text/html")

    web_ui.app.after_request(extend)
    web_ui.app.add_url_rule(REPORT_ROUTE, "embload_report", report)
