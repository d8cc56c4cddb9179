"""Scenario `peak`: 64 users, one mixed zh/en/code/mixed-language text of up to ~1,000 chars.

locust -f scenarios/peak.py --host http://127.0.0.1:30000
locust -f scenarios/peak.py --host http://127.0.0.1:30000 --headless -t 30s
"""

from loadtest.locustfile import scenario_user

PeakUser = scenario_user("peak")
