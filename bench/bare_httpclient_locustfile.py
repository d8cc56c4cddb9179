"""The transport alone: geventhttpclient's HTTPClient as embload's user sends, no checks.

Posts the same request as `bare_locustfile.py` over the same layer as embload's EmbeddingUser
and reports each request to Locust, but reads nothing from the reply and keeps no records:
the gap to the embload side is the cost of the reply check and the records.
"""

from __future__ import annotations

import time

from bare_locustfile import BODY, HEADERS  # locust puts the locustfile's folder on sys.path
from geventhttpclient import HTTPClient
from locust import FastHttpUser, constant, task


class BareHTTPClientUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.http = HTTPClient.from_url(self.host, concurrency=1)

    @task
    def post(self) -> None:
        start_time = time.time()
        t0 = time.perf_counter()
        response = self.http.request("POST", "/v1/embeddings", body=BODY, headers=HEADERS)
        content = response.read()
        self.environment.events.request.fire(
            request_type="POST",
            name="/v1/embeddings",
            response_time=(time.perf_counter() - t0) * 1000,
            response_length=len(content),
            response=response,
            context={},
            exception=None,
            start_time=start_time,
            url=self.host + "/v1/embeddings",
        )
