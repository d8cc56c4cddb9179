"""`--quantize int8|fp8`: the model's linear layers quantized through torchao, and what the
weights then take in memory.

Why torchao: it is PyTorch's maintained quantization library (torch.ao.quantization, whose
fbgemm `quantize_dynamic` beat fp32 here too but moved minilm's vectors far from fp32's, is
deprecated in its favour), and its int8 path, compiled, is the one measured on this CPU both to
run faster than fp32 and to keep the vectors close (bench/RESULTS.md has the figures).

- CPU, int8: int8 weights and int8 activations, quantized per token at each pass (torchao's
  `Int8DynamicActivationInt8WeightConfig`), so the matmuls run in int8. In eager mode the
  quantize steps around each matmul cost more than the int8 matmul saves, so the model is
  compiled (`torch.compile`, dynamic shapes: one graph for every batch size and length) and
  compiled once at load, not on the first request. fp8 on the CPU is refused.
- CUDA: weight-only int8 or fp8 (`Int8WeightOnlyConfig`, `Float8WeightOnlyConfig`); activations
  stay in `--dtype`. Eager: what it buys is memory.

torch and torchao are imported inside the functions: the server's heavy imports stay lazy.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

from loadtest.server.presets import ModelNotFound

# The smallest batch shape a compiled model is run with. torch.compile specializes a dimension
# of size 0 or 1 into a graph of its own (a fresh compile of tens of seconds mid-run), so a
# single text, or a single token, is padded up to two (model.py drops the extra row).
COMPILED_MIN_ROWS = 2
COMPILED_MIN_TOKENS = 2


@contextlib.contextmanager
def quiet_torchao() -> Iterator[None]:
    """Around loading a model: transformers imports torchao wherever it is installed, --quantize
    or not, and that import logs each CUDA kernel a CPU build of torch cannot load and each enum
    torchao registers with torch's pytree: lines about the wheel, not about this server."""
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def check(how: str, device: str) -> None:
    """ModelNotFound, the server's error for options it cannot serve, for fp8 off CUDA."""
    if how == "fp8" and not device.startswith("cuda"):
        raise ModelNotFound(
            "--quantize fp8 needs a CUDA device (torchao's fp8 is for GPUs); "
            "on the CPU use --quantize int8"
        )


def compiles(how: str, device: str) -> bool:
    """Whether `quantize_linear` returns a compiled model (whose shapes then start at two)."""
    return how != "none" and not device.startswith("cuda")


def quantize_linear(model: Any, how: str, device: str) -> Any:
    """`model`'s nn.Linear weights quantized in place; the module to call (compiled on the CPU).

    `model` must already be on `device` in its dtype: torchao quantizes what it finds there.
    """
    check(how, device)
    import torch
    from torchao.quantization import (  # type: ignore[import-untyped]
        Float8WeightOnlyConfig,
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        quantize_,
    )

    cpu = not device.startswith("cuda")
    if cpu:
        config: Any = Int8DynamicActivationInt8WeightConfig()
    elif how == "int8":
        config = Int8WeightOnlyConfig()
    else:
        config = Float8WeightOnlyConfig()
    quantize_(model, config)
    if cpu:
        # Inductor's advice to torchao's tensor class, once per compile: not ours to act on
        warnings.filterwarnings("ignore", message=r".*_stable_hash_for_caching")
        return torch.compile(model, dynamic=True)
    return model


def weight_bytes(model: Any) -> int:
    """Bytes held by `model`'s parameters and buffers. A quantized weight is a tensor subclass
    whose logical shape and dtype are the float weight's: its bytes are those of the tensors it
    holds (the int8 or fp8 data, the scales), counted through PyTorch's subclass protocol."""
    return sum(_nbytes(t) for t in [*model.parameters(), *model.buffers()])


def _nbytes(tensor: Any) -> int:
    flatten = getattr(tensor, "__tensor_flatten__", None)
    if flatten is not None:
        names, _ = flatten()
        return sum(_nbytes(getattr(tensor, name)) for name in names)
    return int(tensor.numel()) * int(tensor.element_size())
