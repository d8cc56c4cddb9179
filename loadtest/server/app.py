"""The HTTP face of the reference server: OpenAI `/v1/embeddings`, `/v1/models`, `/health`.

Every failure is an OpenAI-shaped error `{"error": {"message", "type", "param", "code"}}`, never
a 500 from bad input or a hang. The model loads in a background thread so `/health` can say 503
("loading") until it is ready.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from loadtest.config.settings import ServeSettings
from loadtest.server.batcher import Batcher, OutOfMemory, PassClock, QueueFull
from loadtest.server.guard import (
    api_keys,
    exposed_without_key,
    guarded_protocol,
    key_problem,
)
from loadtest.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from loadtest.server.metrics import ServerMetrics
from loadtest.server.model import Encoder, pick_device
from loadtest.server.openai import (
    ApiError,
    EmbeddingRequest,
    error_response,
    json_response,
    overloaded,
    parse_request,
    read_body,
    reply,
    server_clock,
    texts_of,
    vectors,
    with_instruction,
)
from loadtest.server.presets import PRESETS, ModelNotFound
from loadtest.server.quantize import check as check_quantize


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
                quantize=c.quantize,
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
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> Response:
        return error_response(ApiError(exc.status_code, str(exc.detail), code=str(exc.status_code)))

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
            return json_response({"status": status, "error": state.load_error}, 503)
        return json_response(
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
            "quantize": info.quantize,
            "weight_bytes": info.weight_bytes,
            "load_s": round(info.load_s, 3),
            "preset": info.preset.name,
            "truncate": truncate,
        }
        return json_response({"object": "list", "data": [card]})

    @app.post("/v1/embeddings")
    @app.post("/v1/embeddings/", include_in_schema=False)
    async def embeddings(request: Request) -> Response:
        arrived = time.perf_counter()
        encoder = ready(request)
        assert state.batcher is not None
        # refused before its body is parsed and its texts tokenized: a flood of refusals must
        # not take the CPU from the passes (uvicorn drains the unread body)
        if (refused := state.batcher.overload()) is not None:
            raise overloaded(refused)
        body = await read_body(request, config.max_body_bytes, config.client_timeout_s)
        return await _embed(state, encoder, parse_request(body), truncate, arrived)

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
    texts = with_instruction(texts_of(req), req, encoder, config.instruction)
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
            raise overloaded(exc) from None
    try:
        matrix = vectors(await future, req.dimensions, encoder.info.preset.min_dimensions)
    except OutOfMemory as exc:
        raise ApiError(
            503, f"out of memory: {exc}", type_="server_error", code="out_of_memory"
        ) from None
    except RuntimeError as exc:
        raise ApiError(500, f"inference failed: {exc}", type_="server_error") from None
    doc = reply(matrix, req.encoding_format, encoder.info.name, sum(map(len, ids)))
    started = clock.started or clock.submitted
    total_s = state.metrics.answered(arrived)
    return json_response(
        doc,
        headers=server_clock(
            queue_s=started - clock.submitted,
            tokenization_s=clock.submitted - tokenizing,
            inference_s=(clock.finished or started) - started,
            total_s=total_s,
        ),
    )


def serve(config: ServeSettings) -> None:
    """Run until interrupted. uvicorn's access log is off: it costs the server CPU under load."""
    import uvicorn

    if config.quantize != "none":  # before binding the port: one line and exit 2, as the CLI's
        try:
            check_quantize(config.quantize, pick_device(config.device))
        except ModelNotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
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
