"""Scenario `medium`: 16 users, ten Chinese texts of 20-200 chars per request, lengths even.

locust -f scenarios/medium.py --host http://127.0.0.1:30000
locust -f scenarios/medium.py --host http://127.0.0.1:30000 --headless -t 30s
"""

from loadtest.locustfile import scenario_user

MediumUser = scenario_user("medium")
