"""qwen and bge served as their authors run them, on tiny random models of both architectures
with the real tokenizers, saved to disk and loaded through the same code as real weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from loadtest.server.model import Encoder, pool
from loadtest.server.openai import ApiError, EmbeddingRequest
from loadtest.server.openai import vectors as _vectors
from loadtest.server.openai import with_instruction as _with_instruction
from loadtest.server.presets import PRESETS, format_query, qwen_tokenizer, real_tokenizer

TEXTS = [
    "检索增强生成的效果很大程度上取决于召回阶段的向量质量。",
    "How do I rotate the API keys without downtime?",
    "def cosine(a, b):\n    return a @ b / (norm(a) * norm(b))",
    "短",
    "Embeddings map text to vectors; 相似的文本在向量空间中距离更近。" * 6,
    "SELECT id FROM docs WHERE lang = 'ja' ORDER BY score DESC LIMIT 10;",
]


def save_tiny(preset: str, path: Path) -> Path:
    from transformers import AutoModel, Qwen3Config, XLMRobertaConfig

    torch.manual_seed(0)
    if preset == "qwen":
        config: Any = Qwen3Config(
            vocab_size=151669,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            max_position_embeddings=1024,
            eos_token_id=151643,
            pad_token_id=151643,
        )
        tokenizer = qwen_tokenizer()
    else:
        config = XLMRobertaConfig(
            vocab_size=250002,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=1026,
            type_vocab_size=1,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
        tokenizer = real_tokenizer(PRESETS["bge"])
    AutoModel.from_config(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module", params=["qwen", "bge"])
def encoder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    path = save_tiny(request.param, tmp_path_factory.mktemp(request.param))
    return Encoder(request.param, "cpu", model_path=path, max_tokens=1000)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_a_text_alone_and_in_a_batch_of_64_give_the_same_vector(encoder: Encoder) -> None:
    rng = np.random.default_rng(0)
    batch_texts = [TEXTS[i % len(TEXTS)] * int(rng.integers(1, 4)) for i in range(63)]
    alone = encoder.embed(encoder.tokenize([TEXTS[0]], truncate=False))[0]
    batch = encoder.embed(encoder.tokenize([*batch_texts[:30], TEXTS[0], *batch_texts[30:]], False))
    assert batch.shape == (64, encoder.info.dim)
    assert cosine(alone, batch[30]) >= 0.99999
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_qwen_pooling_takes_the_last_real_token_with_either_padding() -> None:
    hidden = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    left = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    right = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert torch.equal(pool(hidden, left, "last"), hidden[:, -1])
    assert torch.equal(pool(hidden, right, "last"), torch.stack([hidden[0, 2], hidden[1, 4]]))


def test_bge_pooling_is_the_cls_token_and_minilm_the_mean() -> None:
    hidden = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])
    mean = pool(hidden, mask, "mean")
    assert torch.allclose(mean[0], hidden[0, :2].mean(0)) and torch.allclose(
        mean[1], hidden[1].mean(0)
    )


def test_the_served_vector_is_the_models_own_pooled_state(encoder: Encoder) -> None:
    """Unpadded, one text: last token for qwen, CLS for bge, normalized; padding changes nothing."""
    ids = encoder.tokenize([TEXTS[1]], truncate=False)
    with torch.inference_mode():
        hidden = encoder._model(input_ids=torch.tensor(ids)).last_hidden_state[0]
    want = hidden[-1] if encoder.info.preset.pooling == "last" else hidden[0]
    want = (want / want.norm()).numpy()
    assert cosine(encoder.embed(ids)[0], want) >= 0.99999


def test_qwen_tokens_end_with_one_endoftext_and_left_padding(encoder: Encoder) -> None:
    ids = encoder.tokenize(TEXTS[:2], truncate=False)
    if encoder.info.preset.name == "qwen":
        assert all(row[-1] == 151643 and row.count(151643) == 1 for row in ids)
        assert encoder._tokenizer.padding_side == "left"
    else:
        assert all(row[0] == 0 and row[-1] == 2 for row in ids)  # <s> ... </s>
        assert encoder._tokenizer.padding_side == "right"
    assert len(encoder.tokenize(["word " * 2000], truncate=True)[0]) == 1000


def test_instruction_format_is_byte_exact() -> None:
    task = "Given a web search query, retrieve relevant passages that answer the query"
    assert format_query(task, "什么是RAG?") == (
        "Instruct: Given a web search query, retrieve relevant passages that answer the query"
        "\nQuery:什么是RAG?"
    )


def test_dimensions_truncate_then_renormalize() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(3, 1024)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    cut = _vectors(matrix, 64, least=32)
    assert cut.shape == (3, 64) and np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-6)
    assert np.allclose(cut[0], matrix[0, :64] / np.linalg.norm(matrix[0, :64]), atol=1e-6)
    with pytest.raises(ApiError, match="between 32 and 1024"):
        _vectors(matrix, 16, least=32)


def test_instructions_go_to_qwen_queries_only(encoder: Encoder) -> None:
    asked = EmbeddingRequest(input="什么是RAG?", instruction="Retrieve passages")
    document = EmbeddingRequest(input="RAG 是检索增强生成。", instruction="")
    if encoder.info.preset.name == "qwen":
        assert _with_instruction(["什么是RAG?"], asked, encoder, None) == [
            "Instruct: Retrieve passages\nQuery:什么是RAG?"
        ]
        # The server's default applies to requests that name none; "" opts a document out.
        plain = EmbeddingRequest(input="q")
        assert _with_instruction(["q"], plain, encoder, "Find code") == [
            "Instruct: Find code\nQuery:q"
        ]
        assert _with_instruction(["d"], document, encoder, "Find code") == ["d"]
    else:
        with pytest.raises(ApiError, match="bge-m3 takes no instruction"):
            _with_instruction(["x"], asked, encoder, None)
        assert _with_instruction(["d"], document, encoder, None) == ["d"]


@pytest.mark.parametrize(("truncate", "status"), [(None, 400), (True, 200)])
def test_bge_refuses_past_its_limit_unless_told_to_cut(
    tmp_path: Path, truncate: bool | None, status: int
) -> None:
    # As sglang and vLLM do for bge-m3; minilm, as sentence-transformers, cuts (e2e tests).
    import time

    from fastapi.testclient import TestClient

    from loadtest.config.settings import ServeSettings
    from loadtest.server.app import create_app

    path = save_tiny("bge", tmp_path / "bge")
    settings = ServeSettings(model="bge", model_path=path, max_input_tokens=40, truncate=truncate)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        while client.get("/health").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        (card,) = client.get("/v1/models").json()["data"]
        reply = client.post("/v1/embeddings", json={"input": "向量检索 " * 40})
    assert card["truncate"] is (truncate is True) and card["max_input_tokens"] == 40
    assert reply.status_code == status, reply.text
    if status == 400:
        assert "exceeds the maximum of 40" in reply.json()["error"]["message"]
    else:
        assert reply.json()["usage"]["prompt_tokens"] == 40
