"""The OpenAI embeddings wire of the reference server: the request it takes (checked, one
OpenAI-shaped error for each fault), the reply it gives (vectors as floats or base64), TEI's
timing headers, and the errors' JSON."""

from __future__ import annotations

import base64
import math
from typing import Any, Literal

import numpy as np
import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError

from loadtest.server.batcher import QueueFull
from loadtest.server.guard import read_within
from loadtest.server.model import Encoder
from loadtest.server.presets import format_query

MAX_INPUTS = 2048


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    instruction: str | None = None  # qwen: the query's task; "" for documents, no instruction
    user: str | None = None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param
        self.code, self.headers = code, headers


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(err: ApiError) -> Response:
    body = {
        "error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}
    }
    return json_response(body, err.status, err.headers)


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is {declared} bytes; the limit is {limit}")
    try:
        chunks = await read_within(request.stream(), timeout_s, limit)
    except TimeoutError:
        raise ApiError(
            408,
            f"the request body did not arrive within {timeout_s:g} s",
            code="request_timeout",
            headers={"Connection": "close"},  # the rest of the body may still come: not a request
        ) from None
    if chunks is None:
        raise ApiError(413, f"request body exceeds the limit of {limit} bytes")
    return b"".join(chunks)


def parse_request(body: bytes) -> EmbeddingRequest:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    try:
        return EmbeddingRequest.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "body"
        message = (
            "input must be a string or a list of strings"
            if where == "input"
            else f"{where}: {first['msg']}"
        )
        raise ApiError(422, message, param=where) from None


def with_instruction(
    texts: list[str], req: EmbeddingRequest, encoder: Encoder, default: str | None
) -> list[str]:
    """Queries formatted with their task (qwen); the request's own instruction wins, "" is none."""
    task = req.instruction if req.instruction is not None else default
    if not task:
        return texts
    if not encoder.info.preset.instruction:
        raise ApiError(
            400,
            f"{encoder.info.name} takes no instruction; send the text alone",
            param="instruction",
        )
    return [format_query(task, text) for text in texts]


def texts_of(req: EmbeddingRequest) -> list[str]:
    texts = [req.input] if isinstance(req.input, str) else req.input
    if not texts:
        raise ApiError(400, "input must not be empty", param="input")
    if len(texts) > MAX_INPUTS:
        raise ApiError(
            400, f"input has {len(texts)} items; the maximum is {MAX_INPUTS}", param="input"
        )
    for i, text in enumerate(texts):
        if not text:
            raise ApiError(400, f"input[{i}] is an empty string", param="input")
    return texts


def vectors(matrix: np.ndarray, dimensions: int | None, least: int = 1) -> np.ndarray:
    if dimensions is None:
        return matrix
    if not least <= dimensions <= matrix.shape[1]:
        raise ApiError(
            400, f"dimensions must be between {least} and {matrix.shape[1]}", param="dimensions"
        )
    cut = matrix[:, :dimensions]
    # Matryoshka-style: truncate, then re-normalize to unit length.
    norms: np.ndarray = np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12)
    out: np.ndarray = cut / norms
    return out


def overloaded(exc: QueueFull) -> ApiError:
    """429 with Retry-After: when the queue should have room again, in whole seconds."""
    return ApiError(
        429,
        f"server is overloaded: {exc}",
        type_="rate_limit_error",
        code="queue_full",
        headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
    )


def reply(matrix: np.ndarray, encoding_format: str, model: str, tokens: int) -> dict[str, Any]:
    """OpenAI's embeddings reply, vectors as float lists or base64 float32."""
    if encoding_format == "base64":
        data: list[Any] = [base64.b64encode(row.astype("<f4").tobytes()).decode() for row in matrix]
    else:
        data = list(matrix)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(data)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def server_clock(
    *, queue_s: float, tokenization_s: float, inference_s: float, total_s: float
) -> dict[str, str]:
    """TEI's timing headers, in its units (milliseconds), so a client reads both alike."""
    times = {
        "x-queue-time": queue_s,
        "x-tokenization-time": tokenization_s,
        "x-inference-time": inference_s,
        "x-total-time": total_s,
    }
    return {name: f"{1000 * s:.3f}" for name, s in times.items()}
