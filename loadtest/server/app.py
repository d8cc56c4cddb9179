"""The HTTP face of the reference server: OpenAI `/v1/embeddings`, `/v1/models`, `/health`.

Every failure is an OpenAI-shaped error `{"error": {"message", "type", "param", "code"}}`, never
a 500 from bad input or a hang. The model loads in a background thread so `/health` can say 503
("loading") until it is ready.
"""

from __future__ import annotations

import asyncio
import base64
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException

from loadtest.config.settings import ServeSettings
from loadtest.server.batcher import Batcher, OutOfMemory, PassClock, QueueFull
from loadtest.server.guard import (
    api_keys,
    exposed_without_key,
    guarded_protocol,
    key_problem,
    read_within,
)
from loadtest.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from loadtest.server.metrics import ServerMetrics
from loadtest.server.model import Encoder
from loadtest.server.presets import PRESETS, format_query

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


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error_response(err: ApiError) -> Response:
    body = {
        "error": {"message": err.message, "type": err.type, "param": err.param, "code": err.code}
    }
    return _json(body, err.status, err.headers)


class _State:
    """The loaded model and its batcher, once ready; the load error, if loading failed."""

    def __init__(self, config: ServeSettings) -> None:
        self.config = config
        self.encoder: Encoder | None = None
        self.batcher: Batcher | None = None
        self.load_error: str | None = None
        self.tokenizers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embload-tokenize")
        self.timings: dict[str, float] = {"process_start": time.time()}
        self.metrics = ServerMetrics()

    def load(self) -> None:
        try:
            c = self.config
            encoder = Encoder(
                c.model,
                c.device,
                model_path=c.model_path,
                random_weights=c.random_weights,
                dtype=c.dtype,
                max_tokens=c.max_input_tokens,
            )
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            print(f"embload serve: the model did not load: {self.load_error}", file=sys.stderr)
            return
        c = self.config
        self.batcher = Batcher(
            encoder.embed,
            max_batch_size=c.max_batch_size,
            max_batch_tokens=c.max_batch_tokens,
            gather_s=c.gather_ms / 1000,
            max_queue=c.max_queue,
            max_wait_s=c.max_queue_wait_s or None,
            is_oom=encoder.is_oom,
            free_memory=encoder.free_memory,
            on_pass=self.metrics.forward_pass,
        )
        batcher = self.batcher
        self.metrics.watch_queue(lambda: batcher.queued)
        self.timings["model_loaded"] = time.time()
        self.encoder = encoder


async def _read_body(request: Request, limit: int, timeout_s: float) -> bytes:
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


def _parse(body: bytes) -> EmbeddingRequest:
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


def _with_instruction(
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


def _texts(req: EmbeddingRequest) -> list[str]:
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


def _vectors(matrix: np.ndarray, dimensions: int | None, least: int = 1) -> np.ndarray:
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


def create_app(config: ServeSettings) -> FastAPI:
    state = _State(config)
    # Unset, the preset decides: minilm cuts like sentence-transformers, qwen and bge refuse.
    truncate = PRESETS[config.model].truncates if config.truncate is None else config.truncate
    # no redirect for /v1/embeddings/: a client that POSTs there is served, not sent a 307
    app = FastAPI(
        title="embload reference server", docs_url=None, redoc_url=None, redirect_slashes=False
    )
    keys = api_keys(config)
    app.state.embload = state
    threading.Thread(target=state.load, name="embload-load", daemon=True).start()

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if request.url.path.rstrip("/").endswith("/embeddings"):
            state.metrics.refused(exc.status, exc.code)
        return _error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> Response:
        return _error_response(
            ApiError(exc.status_code, str(exc.detail), code=str(exc.status_code))
        )

    def ready(request: Request) -> Encoder:
        problem = key_problem(request.headers.get("authorization"), keys)
        if problem is not None:
            raise ApiError(
                401, problem, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}
            )
        if state.encoder is None:
            message = state.load_error or "the model is still loading; retry when /health is 200"
            raise ApiError(
                503,
                message,
                type_="server_error",
                code="model_not_ready",
                headers={"Retry-After": "1"},
            )
        return state.encoder

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(state.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)

    @app.get("/health")
    async def health() -> Response:
        if state.encoder is None:
            status = "failed" if state.load_error else "loading"
            return _json({"status": status, "error": state.load_error}, 503)
        return _json(
            {
                "status": "healthy",
                "model": state.encoder.info.name,
                "model_loaded_at": state.timings["model_loaded"],  # wall clock, for start-up
                "weights": state.encoder.info.weights,
            }
        )

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        info = ready(request).info
        card = {
            "id": info.name,
            "object": "model",
            "created": int(state.timings["process_start"]),
            "owned_by": "embload",
            "dimensions": info.dim,
            "max_input_tokens": info.max_tokens,
            "weights": info.weights,
            "device": info.device,
            "dtype": info.dtype,
            "preset": info.preset.name,
            "truncate": truncate,
        }
        return _json({"object": "list", "data": [card]})

    @app.post("/v1/embeddings")
    @app.post("/v1/embeddings/", include_in_schema=False)
    async def embeddings(request: Request) -> Response:
        arrived = time.perf_counter()
        encoder = ready(request)
        assert state.batcher is not None
        # refused before its body is parsed and its texts tokenized: a flood of refusals must
        # not take the CPU from the passes (uvicorn drains the unread body)
        if (refused := state.batcher.overload()) is not None:
            raise _overloaded(refused)
        body = await _read_body(request, config.max_body_bytes, config.client_timeout_s)
        return await _embed(state, encoder, _parse(body), truncate, arrived)

    return app


async def _embed(
    state: _State, encoder: Encoder, req: EmbeddingRequest, truncate: bool, arrived: float
) -> Response:
    """One parsed request: tokenized, queued for a pass, answered with the server's clock."""
    config = state.config
    assert state.batcher is not None
    if req.model is not None and req.model not in (encoder.info.name, encoder.info.preset.name):
        raise ApiError(
            404,
            f"The model `{req.model}` does not exist; this server has `{encoder.info.name}`",
            param="model",
            code="model_not_found",
        )
    texts = _with_instruction(_texts(req), req, encoder, config.instruction)
    loop = asyncio.get_running_loop()
    with state.batcher.arriving():
        tokenizing = time.perf_counter()
        ids = await loop.run_in_executor(state.tokenizers, encoder.tokenize, texts, truncate)
        clock = PassClock()
        limit = encoder.info.max_tokens
        for one in ids:
            if len(one) > limit:
                raise ApiError(
                    400,
                    f"Input length {len(one)} tokens exceeds the maximum of {limit}",
                    param="input",
                    code="context_length_exceeded",
                )
        try:
            future = state.batcher.submit(ids, clock)
        except QueueFull as exc:
            raise _overloaded(exc) from None
    try:
        matrix = _vectors(await future, req.dimensions, encoder.info.preset.min_dimensions)
    except OutOfMemory as exc:
        raise ApiError(
            503, f"out of memory: {exc}", type_="server_error", code="out_of_memory"
        ) from None
    except RuntimeError as exc:
        raise ApiError(500, f"inference failed: {exc}", type_="server_error") from None
    doc = _reply(matrix, req.encoding_format, encoder.info.name, sum(map(len, ids)))
    started = clock.started or clock.submitted
    total_s = state.metrics.answered(arrived)
    return _json(
        doc,
        headers=_server_clock(
            queue_s=started - clock.submitted,
            tokenization_s=clock.submitted - tokenizing,
            inference_s=(clock.finished or started) - started,
            total_s=total_s,
        ),
    )


def _overloaded(exc: QueueFull) -> ApiError:
    """429 with Retry-After: when the queue should have room again, in whole seconds."""
    return ApiError(
        429,
        f"server is overloaded: {exc}",
        type_="rate_limit_error",
        code="queue_full",
        headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
    )


def _reply(matrix: np.ndarray, encoding_format: str, model: str, tokens: int) -> dict[str, Any]:
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


def _server_clock(
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


def serve(config: ServeSettings) -> None:
    """Run until interrupted. uvicorn's access log is off: it costs the server CPU under load."""
    import uvicorn

    if exposed_without_key(config):
        print(
            f"embload serve: warning: listening on {config.host} with no --api-key: anyone who "
            "can reach this port can use it",
            file=sys.stderr,
        )
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        http=guarded_protocol(config.client_timeout_s),
    )
