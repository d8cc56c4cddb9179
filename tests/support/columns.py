"""RecordColumns from the few arrays a test cares about; every other field a plain success."""

from __future__ import annotations

import numpy as np

from loadtest.core.columns import NO_CODE, Coded, RecordColumns

_NAMED = ("category", "bucket", "worker")


def columns(
    start: np.ndarray,
    latency: np.ndarray,
    *,
    ok: np.ndarray | None = None,
    user: np.ndarray | None = None,
    chars: np.ndarray | None = None,
    tokens: np.ndarray | None = None,
    inputs: np.ndarray | None = None,
) -> RecordColumns:
    n = start.size
    failed = np.zeros(n, dtype=bool) if ok is None else ~ok
    error = np.where(failed, 4, NO_CODE).astype(np.int8)  # ERROR_KINDS[4]: a timeout
    same = {name: Coded(np.zeros(n, dtype=np.int8), ("x",)) for name in _NAMED}
    return RecordColumns(
        start_time=start,
        latency_s=latency,
        status=np.where(failed, 0, 200).astype(np.int32),
        error=error,
        error_message=Coded(np.full(n, NO_CODE, dtype=np.int8), ()),
        inputs=np.ones(n, dtype=np.int64) if inputs is None else inputs,
        chars=np.zeros(n, dtype=np.int64) if chars is None else chars,
        prompt_tokens=np.full(n, 30.0) if tokens is None else tokens,
        user=np.zeros(n, dtype=np.int64) if user is None else user,
        send_lag_s=None,
        server_queue_s=None,
        server_tokenization_s=None,
        server_inference_s=None,
        server_total_s=None,
        warmup=np.zeros(n, dtype=bool),
        trace_line=None,
        **same,
    )
