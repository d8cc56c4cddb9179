"""The OOM classifier on error bodies in the shapes real servers send, and what is not OOM."""

from __future__ import annotations

import json

import pytest

from loadtest.core.replies import classify_status
from loadtest.core.types import ErrorKind

TORCH = (
    "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.15 GiB "
    "of which 1.23 GiB is free. Including non-PyTorch memory, this process has 77.90 GiB memory "
    "in use. Of the allocated memory 75.10 GiB is allocated by PyTorch, and 1.31 GiB is reserved "
    "by PyTorch but unallocated. If reserved but unallocated memory is large try setting "
    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation."
)

OOM_REPLIES = {
    # FastAPI app around a PyTorch model (infinity, custom servers): {"detail": ...}
    "pytorch": (500, {"detail": TORCH}),
    # TEI (candle backend): 424 Failed Dependency with its own error shape
    "tei": (
        424,
        {
            "error": "Backend error: Inference error: "
            'DriverError(CUDA_ERROR_OUT_OF_MEMORY, "out of memory")',
            "error_type": "Backend",
        },
    ),
    # vLLM's OpenAI server, older and newer error shapes
    "vllm": (
        500,
        {
            "object": "error",
            "message": f"torch.OutOfMemoryError: {TORCH}",
            "type": "InternalServerError",
            "param": None,
            "code": 500,
        },
    ),
    "vllm-new": (
        500,
        {
            "error": {
                "message": f"torch.OutOfMemoryError: {TORCH}",
                "type": "InternalServerError",
                "param": None,
                "code": 500,
            }
        },
    ),
    # sglang's OpenAI adapter
    "sglang": (
        500,
        {
            "object": "error",
            "message": f"RuntimeError: {TORCH}",
            "type": "InternalServerError",
            "param": None,
            "code": 500,
        },
    ),
    # the bundled server after its split-and-retry also ran out
    "embload": (
        503,
        {
            "error": {
                "message": "out of memory: 8 texts: CUDA out of memory",
                "type": "server_error",
                "param": None,
                "code": "out_of_memory",
            }
        },
    ),
    # a CPU server whose allocator failed
    "cpu": (
        500,
        {
            "detail": "DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 4294967296 bytes."
        },
    ),
}


@pytest.mark.parametrize("server", sorted(OOM_REPLIES))
def test_out_of_memory_replies_are_oom(server: str) -> None:
    status, body = OOM_REPLIES[server]
    kind, message = classify_status(status, json.dumps(body).encode())
    assert kind is ErrorKind.OOM
    assert message is not None and message.startswith(f"HTTP {status}: ")
    assert "memory" in message.lower()


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (
            400,
            {"error": {"message": "Input length 300 tokens exceeds the maximum of 256"}},
            ErrorKind.HTTP_4XX,
        ),
        (
            500,
            {"detail": "room 101 is not a valid model"},
            ErrorKind.HTTP_5XX,
        ),  # "oom" inside a word
        (503, {"error": {"message": "the model is still loading"}}, ErrorKind.HTTP_5XX),
        (429, {"error": "Model is overloaded"}, ErrorKind.RATE_LIMITED),
        (429, {"error": "out of memory, retry later"}, ErrorKind.RATE_LIMITED),  # 429 wins: retry
    ],
)
def test_other_errors_are_not_oom(status: int, body: object, kind: ErrorKind) -> None:
    assert classify_status(status, json.dumps(body).encode())[0] is kind


def test_a_2xx_is_no_error_whatever_it_says() -> None:
    assert classify_status(200, b'{"note": "out of memory soon"}') == (None, None)
