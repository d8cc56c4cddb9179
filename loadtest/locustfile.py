"""What a shipped locustfile imports: a scenario's User class, for plain `locust -f` runs and
`embload run` alike. Importing it installs embload's Locust hooks (loadgen/hooks.py): each test
becomes a run directory with its summary.json and report.html.
"""

from __future__ import annotations

from loadtest.loadgen.hooks import scenario_user
from loadtest.loadgen.user import EmbeddingUser

__all__ = ["EmbeddingUser", "scenario_user"]
