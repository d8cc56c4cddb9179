"""A minimal server that answers every POST with one precomputed 1024-d embedding (~12 KB).

Raw ASGI on uvicorn + uvloop + httptools: as little server work as possible, so the benchmark
measures the load generator, not the server.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn

VECTOR = [round((i % 97) / 97 - 0.5, 8) for i in range(1024)]
REPLY = json.dumps(
    {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": VECTOR}],
        "model": "fixed",
        "usage": {"prompt_tokens": 24, "total_tokens": 24},
    }
).encode()
MODELS = b'{"object": "list", "data": [{"id": "fixed", "object": "model"}]}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        more = (await receive()).get("more_body", False)
    body = MODELS if scope["method"] == "GET" else REPLY
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
