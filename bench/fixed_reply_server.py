"""A minimal server that answers every POST with one precomputed 1024-d embedding.

Raw ASGI on uvicorn + uvloop + httptools: as little server work as possible, so the benchmark
measures the load generator, not the server. The vector is a unit float32 vector written the
way Python servers write one: `tensor.tolist()` floats of 17 digits (~22 KB) for
`encoding_format: float`, little-endian float32 base64 (~5.6 KB) when the request asks for it.
TEI's `/embed`, Ollama's `/api/embed` and Cohere's `/v2/embed` get the same vector in their
own shapes.
"""

from __future__ import annotations

import base64
import json
import math
import random
import struct
import sys
from typing import Any

import uvicorn

DIM = 1024


def _vector(seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    v = [rng.gauss(0.0, 1.0) for _ in range(DIM)]
    norm = math.sqrt(sum(x * x for x in v))
    return list(struct.unpack(f"{DIM}f", struct.pack(f"{DIM}f", *(x / norm for x in v))))


def _reply(embedding: list[float] | str) -> bytes:
    return json.dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
            "model": "fixed",
            "usage": {"prompt_tokens": 24, "total_tokens": 24},
        }
    ).encode()


VECTOR = _vector()
REPLY = _reply(VECTOR)
# The same vector in the other dialects' shapes (loadtest/core/dialects.py), by route.
BY_ROUTE = {
    b"/embed": json.dumps([VECTOR]).encode(),  # TEI
    b"/api/embed": json.dumps(
        {"model": "fixed", "embeddings": [VECTOR], "prompt_eval_count": 24}
    ).encode(),  # Ollama
    b"/v2/embed": json.dumps(
        {
            "id": "fixed",
            "embeddings": {"float": [VECTOR]},
            "texts": ["a text"],
            "meta": {"billed_units": {"input_tokens": 24}},
            "response_type": "embeddings_by_type",
        }
    ).encode(),  # Cohere
}
REPLY_BASE64 = _reply(base64.b64encode(struct.pack(f"<{DIM}f", *VECTOR)).decode())
MODELS = b'{"object": "list", "data": [{"id": "fixed", "object": "model"}]}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    request, more = b"", True
    while more:
        message = await receive()
        request += message.get("body", b"")
        more = message.get("more_body", False)
    body = REPLY_BASE64 if b'"base64"' in request else REPLY
    body = BY_ROUTE.get(scope["raw_path"], body)
    if scope["method"] == "GET":
        body = MODELS
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
