"""Scenario `medium`: 16 users, ten Chinese sentences of 20-200 chars per request.

locust -f scenarios/medium.py --host http://127.0.0.1:30000
locust -f scenarios/medium.py --host http://127.0.0.1:30000 --headless -t 30s
"""

from loadtest.locust_user import scenario_user

MediumUser = scenario_user("medium")
