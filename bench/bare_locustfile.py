"""The baseline: a bare FastHttpUser that only posts, with no checks and no records.

It asks for the same `encoding_format` as the embload side (`EMBLOAD_ENCODING_FORMAT`), so both
receive the same reply bytes.
"""

from __future__ import annotations

import json
import os

from locust import FastHttpUser, constant, task

BODY = json.dumps(
    {
        "input": ["检索增强生成的效果很大程度上取决于召回阶段的向量质量。"],
        "encoding_format": os.environ.get("EMBLOAD_ENCODING_FORMAT", "float"),
        "model": "fixed",
    }
).encode()
HEADERS = {"Content-Type": "application/json"}


class BareUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def post(self) -> None:
        self.client.post("/v1/embeddings", data=BODY, headers=HEADERS)
