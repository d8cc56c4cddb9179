"""What the bundled server is fuzzed with (tests/e2e/test_fuzz.py: a few hundred cases in CI;
bench/fuzz.py: 10,000 and more), and what every reply must be.

Requests to /v1/embeddings, with or without a trailing slash: bodies shaped like OpenAI's, each
field now right and now of any JSON type or value, with unknown fields, as raw bytes, under any
content type. The contract: no 5xx but 503 (overload, out of memory), every 4xx in OpenAI's
error shape, and every 200 a vector per input.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import strategies as st

_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
ANY_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SAMPLES = ["hello", "你好，世界", "def f(x): return x", "🙂" * 40]
TEXT = st.text(max_size=300) | st.sampled_from(SAMPLES)
# well typed: mostly served, now and then refused for a value (an empty text, dimensions out
# of range, too many inputs)
WELL_TYPED = st.fixed_dictionaries(
    {"input": TEXT | st.lists(TEXT, min_size=1, max_size=40)},
    optional={
        "model": st.sampled_from(["all-MiniLM-L6-v2", "minilm", "no-such-model"]),
        "encoding_format": st.sampled_from(["float", "base64"]),
        "dimensions": st.integers(-5, 500),
        "instruction": st.just(""),
        "user": st.text(max_size=10),
    },
)
FIELDS = ["input", "model", "encoding_format", "dimensions", "instruction", "user", "unknown"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(path, body, content type) of one POST: six in ten well typed, three with one field of
    any JSON type or value, one a body of any JSON or of bytes that may not be JSON at all."""
    path = draw(st.sampled_from(["/v1/embeddings", "/v1/embeddings/"]))
    kind = draw(st.integers(0, 9))
    doc: Any = draw(WELL_TYPED)
    if 6 <= kind <= 8:
        doc[draw(st.sampled_from(FIELDS))] = draw(ANY_JSON)
    elif kind == 9:
        doc = draw(ANY_JSON)
    body = json.dumps(doc).encode()
    if kind == 9 and draw(st.booleans()):
        body = draw(st.binary(max_size=200))
    ctype = draw(st.sampled_from(["application/json", "text/plain", ""]))
    return path, body, ctype


def check_reply(response: httpx.Response, body: bytes) -> str:
    """The contract, asserted; the reply's status, for counting."""
    status = response.status_code
    assert status < 500 or status == 503, (status, body[:200], response.text[:300])
    if 400 <= status < 500 or status == 503:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, response.text[:300]
        assert isinstance(error["message"], str) and error["message"], response.text[:300]
    elif status == 200:
        doc = json.loads(body)
        texts = doc["input"] if isinstance(doc["input"], list) else [doc["input"]]
        data = response.json()["data"]
        assert [d["index"] for d in data] == list(range(len(texts)))
    else:
        raise AssertionError(f"unexpected {status}: {response.text[:300]}")
    return str(status)
