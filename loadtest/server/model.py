"""The model behind the server: tokenize texts, run a padded batch, pool and L2-normalize.

One `Encoder` serves every preset (presets.py): the same loading, padding, pooling and
normalizing code runs real weights, random weights and the tiny test models. On CUDA it loads
in bf16 (or --dtype) with PyTorch's SDPA attention and uploads batches from pinned memory.
With --quantize, quantize.py quantizes the linear layers after the model is in place.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from loadtest.server.presets import (
    PRESETS,
    ModelNotFound,
    Preset,
    random_config,
    real_tokenizer,
    weights_dir,
)
from loadtest.server.quantize import (
    COMPILED_MIN_ROWS,
    COMPILED_MIN_TOKENS,
    compiles,
    quantize_linear,
    quiet_torchao,
    weight_bytes,
)

DTYPES = ("bf16", "fp16", "fp32")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    dim: int
    max_tokens: int
    device: str
    dtype: str
    weights: str  # "pretrained" or "random"
    preset: Preset
    quantize: str | None = None  # "int8" or "fp8"; None: the weights as loaded
    weight_bytes: int = 0  # parameters and buffers, after quantization
    load_s: float = 0.0  # load, quantize and (quantized on the CPU) compile


def pick_device(requested: str | None) -> str:
    import torch

    if requested:
        if requested == "cuda" and not torch.cuda.is_available():
            raise ModelNotFound("--device cuda was asked for, but torch sees no CUDA device")
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def _max_tokens(preset: Preset, path: Path | None) -> int:
    """The preset's limit, or sentence-transformers' own setting where the weights carry one."""
    st_config = path / "sentence_bert_config.json" if path else None
    if st_config is not None and st_config.is_file():
        return int(json.loads(st_config.read_text())["max_seq_length"])
    return preset.max_tokens


class Encoder:
    """One model instance. `tokenize` is thread-safe; `embed` runs on the batcher's thread only."""

    def __init__(
        self,
        model: str = "minilm",
        device: str | None = None,
        *,
        model_path: Path | None = None,
        random_weights: bool = False,
        dtype: str | None = None,
        max_tokens: int | None = None,
        quantize: str = "none",
    ) -> None:
        started = time.perf_counter()
        import torch

        if model not in PRESETS:
            raise ModelNotFound(f"unknown model {model!r}; this server knows: {', '.join(PRESETS)}")
        preset = PRESETS[model]
        self._torch = torch
        # Pinned to our CPU share: torch's default counts every core, even under taskset.
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        dev = pick_device(device)
        dtype = dtype or ("bf16" if dev.startswith("cuda") else "fp32")
        torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
        with quiet_torchao():
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # a quiet log
            if random_weights:
                path = None
                self._tokenizer: Any = real_tokenizer(preset)
                torch.manual_seed(0)  # the same random model every start: comparable runs
                config = random_config(preset)
                net = AutoModel.from_config(config, attn_implementation="sdpa")  # type: ignore[no-untyped-call]
            else:
                path = weights_dir(preset, model_path)
                self._tokenizer = AutoTokenizer.from_pretrained(str(path))
                net = AutoModel.from_pretrained(str(path), attn_implementation="sdpa")
        net = net.to(device=dev, dtype=torch_dtype).eval()
        self._model: Any = net if quantize == "none" else quantize_linear(net, quantize, dev)
        # A compiled model runs every batch at two rows and two tokens at least (quantize.py)
        compiled = compiles(quantize, dev)
        self._min_rows = COMPILED_MIN_ROWS if compiled else 1
        self._min_tokens = COMPILED_MIN_TOKENS if compiled else 1
        self._tokenizer.padding_side = preset.padding
        self.info = ModelInfo(
            name=preset.served,
            dim=int(net.config.hidden_size),
            max_tokens=max_tokens or _max_tokens(preset, path),
            device=dev,
            dtype=dtype,
            weights="random" if random_weights else "pretrained",
            preset=preset,
            quantize=None if quantize == "none" else quantize,
            weight_bytes=weight_bytes(net),
        )
        self._pad_id = int(self._tokenizer.pad_token_id)
        if compiled:  # compile now, while /health says loading, not on the first request
            # rows and tokens of different sizes: torch gives equal sizes one symbol, and the
            # graph would then be for square batches only
            self.embed([[self._pad_id] * 8])
        self.info = replace(self.info, load_s=time.perf_counter() - started)

    def tokenize(self, texts: list[str], truncate: bool) -> list[list[int]]:
        """Token ids with the model's special tokens; cut to the limit only when `truncate`."""
        kwargs: dict[str, Any] = {"add_special_tokens": True, "verbose": False}
        if truncate:
            kwargs.update(truncation=True, max_length=self.info.max_tokens)
        ids: list[list[int]] = self._tokenizer(texts, **kwargs)["input_ids"]
        return ids

    def is_oom(self, exc: BaseException) -> bool:
        """CUDA's OutOfMemoryError, or the CPU allocator's failure to get memory."""
        if isinstance(exc, self._torch.cuda.OutOfMemoryError):
            return True
        text = str(exc).lower()
        return isinstance(exc, RuntimeError) and (
            "out of memory" in text or "can't allocate memory" in text
        )

    def free_memory(self) -> None:
        """Return cached blocks to the device, so a retry starts from what is really free."""
        if self.info.device.startswith("cuda"):
            self._torch.cuda.empty_cache()

    def _padded(self, batch: list[list[int]]) -> tuple[Any, Any]:
        torch = self._torch
        if len(batch) < self._min_rows:  # a copy of the last row, its vector dropped in embed
            batch = batch + batch[-1:] * (self._min_rows - len(batch))
        width = max(self._min_tokens, *(len(ids) for ids in batch))
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        left = self.info.preset.padding == "left"
        for row, ids in enumerate(batch):
            cols = slice(width - len(ids), width) if left else slice(0, len(ids))
            input_ids[row, cols] = torch.tensor(ids)
            mask[row, cols] = 1
        if self.info.device.startswith("cuda"):  # page-locked, so the copy overlaps compute
            return (
                input_ids.pin_memory().to(self.info.device, non_blocking=True),
                mask.pin_memory().to(self.info.device, non_blocking=True),
            )
        return input_ids, mask

    def embed(self, batch: list[list[int]]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per token-id list."""
        torch = self._torch
        input_ids, mask = self._padded(batch)
        with torch.inference_mode():
            hidden = self._model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            pooled = pool(hidden, mask, self.info.preset.pooling)
            pooled = torch.nn.functional.normalize(pooled.float(), p=2.0, dim=1)
        out: np.ndarray = pooled.cpu().numpy()
        return out[: len(batch)]


def pool(hidden: Any, mask: Any, how: str) -> Any:
    """One vector per row of `hidden` [batch, tokens, dim] under `mask` [batch, tokens]."""
    if how == "cls":
        return hidden[:, 0]
    if how == "last":
        # Qwen3-Embedding's last_token_pool: with left padding every row ends on a real token;
        # otherwise take each row's last position where the mask is 1.
        if bool(mask[:, -1].all()):
            return hidden[:, -1]
        rows = mask.new_tensor(range(hidden.shape[0]))
        return hidden[rows, mask.sum(dim=1) - 1]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
