"""`--quantize`: minilm's linear layers in int8 keep its vectors and shrink its weights; the
weights' bytes are counted honestly; fp8 is refused off CUDA; int8 and fp8 weight-only on CUDA."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from loadtest.config.settings import ServeSettings
from loadtest.server.model import Encoder
from loadtest.server.presets import ModelNotFound
from loadtest.server.quantize import check, quantize_linear, quiet_torchao, weight_bytes

SENTENCES = [
    "How do I reset my password?",
    "Steps to recover a forgotten password",
    "The best ramen in town is near the station.",
    "Embeddings map text to vectors; similar texts end up close together.",
    "def cosine(a, b):\n    return a @ b / (norm(a) * norm(b))",
    "检索增强生成的效果取决于召回质量 and recall quality",
]


def vectors(encoder: Encoder, texts: list[str]) -> np.ndarray:
    return encoder.embed(encoder.tokenize(texts, truncate=True))


@pytest.fixture(scope="module")
def minilm() -> Iterator[tuple[Encoder, Encoder]]:
    """minilm on the CPU as loaded (fp32), and with --quantize int8."""
    yield Encoder("minilm", "cpu"), Encoder("minilm", "cpu", quantize="int8")


def test_int8_minilm_keeps_its_vectors_and_shrinks_its_weights(
    minilm: tuple[Encoder, Encoder],
) -> None:
    fp32, int8 = minilm
    cosines = np.sum(vectors(fp32, SENTENCES) * vectors(int8, SENTENCES), axis=1)
    assert cosines.min() > 0.98, cosines
    assert (int8.info.quantize, fp32.info.quantize) == ("int8", None)
    # the linear layers' weights go from 4 bytes to 1 (plus a scale a row); the embedding
    # tables, about half of minilm, stay fp32
    assert int8.info.weight_bytes / fp32.info.weight_bytes < 0.7
    assert int8.info.load_s > 0 and fp32.info.load_s > 0


def test_int8_a_text_alone_and_in_a_batch_give_the_same_vector(
    minilm: tuple[Encoder, Encoder],
) -> None:
    """A pass of one text runs the compiled model at two rows (quantize.py): its own vector.
    Not to the last digit: padding moves fp32 activations a little, which can move a value
    across an int8 step (the next sentence, on the same topic, is at about 0.8)."""
    _, int8 = minilm
    alone = vectors(int8, SENTENCES[:1])
    assert alone.shape == (1, 384)
    assert float(alone[0] @ vectors(int8, SENTENCES)[0]) > 0.999


def test_quantized_weights_count_their_int8_data_and_scales() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(256, 128))
    assert weight_bytes(net) == (128 * 256 + 128) * 4  # fp32 weight and bias
    with quiet_torchao():
        compiled = quantize_linear(net, "int8", "cpu")
    # int8 weight, a fp32 scale and an int8 zero point per output row, the fp32 bias
    expected = 128 * 256 + 128 * 4 + 128 + 128 * 4
    assert weight_bytes(net) == weight_bytes(compiled) == expected


def test_fp8_off_cuda_is_one_clear_error() -> None:
    with pytest.raises(ModelNotFound, match="--quantize fp8 needs a CUDA device"):
        check("fp8", "cpu")
    with pytest.raises(ModelNotFound, match="fp8 needs a CUDA device"):
        Encoder("minilm", "cpu", quantize="fp8")
    with pytest.raises(ValidationError, match="quantize fp8 needs a CUDA device"):
        ServeSettings(quantize="fp8", device="cpu")
    check("int8", "cpu")
    check("fp8", "cuda:0")


@pytest.mark.gpu
@pytest.mark.parametrize("how", ["int8", "fp8"])
def test_weight_only_on_cuda(how: str) -> None:
    if not torch.cuda.is_available():
        pytest.skip("this torch build has no CUDA")
    plain = Encoder("minilm", "cuda")
    quantized = Encoder("minilm", "cuda", quantize=how)
    assert quantized.info.dtype == plain.info.dtype == "bf16"  # --dtype still applies
    cosines = np.sum(vectors(plain, SENTENCES) * vectors(quantized, SENTENCES), axis=1)
    assert cosines.min() > 0.98, cosines
    assert quantized.info.weight_bytes < plain.info.weight_bytes * 0.85
