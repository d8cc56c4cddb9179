"""Scenario `single`: 1 user, one short Chinese sentence (20-60 chars) per request.

locust -f scenarios/single.py --host http://127.0.0.1:30000
locust -f scenarios/single.py --host http://127.0.0.1:30000 --headless -t 30s
"""

from loadtest.locustfile import scenario_user

SingleUser = scenario_user("single")
