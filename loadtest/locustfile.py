"""What a shipped locustfile imports: a scenario's User class, with report.html rendered once a
test's summary.json is written, for plain `locust -f` runs and `embload run` alike.

It sits above both the Locust side and the report layer, so neither imports the other;
matplotlib loads only when the report is rendered, after the load has stopped.
"""

from __future__ import annotations

import sys
from pathlib import Path

from loadtest.locust_user import EmbeddingUser
from loadtest.locust_user import scenario_user as _scenario_user


def _render_report(run_dir: Path) -> None:
    from loadtest.report.html import write_report

    print(f"embload: report {write_report(run_dir)}", file=sys.stderr)


def scenario_user(name: str) -> type[EmbeddingUser]:
    return _scenario_user(name, on_written=_render_report)
