"""Payloads: the built-in corpus as labelled items, the three scenarios, and seeded sampling.

Every item has a category (`zh`, `en`, `code`, `mixed`, or a user corpus's own) and a length
bucket taken from its character count, the same rule for built-in and user corpora:
`short` <= 32 chars, `medium` <= 256, `long` <= 1024, `xlong` beyond.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loadtest.core import corpus
from loadtest.core.types import Payload

CATEGORIES = ("zh", "en", "code", "mixed")
_BUCKET_LIMITS = ((32, "short"), (256, "medium"), (1024, "long"))
_LONGEST_ITEM_CHARS = 1100  # paragraphs and code files are built up to about 1,000 chars


def bucket_for(chars: int) -> str:
    for limit, name in _BUCKET_LIMITS:
        if chars <= limit:
            return name
    return "xlong"


def _item(text: str, category: str) -> Payload:
    return Payload(text=text, category=category, bucket=bucket_for(len(text)))


def _joined_sentences(sentences: Sequence[str], sep: str) -> list[str]:
    """Longer sentences: each sentence followed by one a fixed stride away."""
    n = len(sentences)
    return [
        sentences[i] + sep + sentences[(i * 7 + 3) % n] for i in range(n) if (i * 7 + 3) % n != i
    ]


def _paragraphs(sentences: Sequence[str], sep: str, count: int) -> list[str]:
    """Paragraphs of 200 to ~1,000 chars, each a different walk through the sentences."""
    n = len(sentences)
    out = []
    for k in range(count):
        target = 200 + (k * 97) % 800
        stride = (1, 3, 7, 11, 13)[k % 5]
        parts: list[str] = []
        i = (k * 11) % n
        while sum(len(p) + len(sep) for p in parts) < target and len(parts) < n:
            parts.append(sentences[i])
            i = (i + stride) % n
        out.append(sep.join(parts))
    return out


def _code_files() -> list[str]:
    """Two snippets of one language in one file: what a code-search index embeds."""
    by_lang: dict[str, list[str]] = {}
    for lang, snippet in corpus.CODE_SNIPPETS:
        by_lang.setdefault(lang, []).append(snippet)
    files = []
    for snippets in by_lang.values():
        for i, first in enumerate(snippets):
            for second in snippets[i + 1 :]:
                text = first + "\n\n\n" + second
                if len(text) <= _LONGEST_ITEM_CHARS:
                    files.append(text)
    return files


def builtin_corpus() -> tuple[Payload, ...]:
    """All built-in items, deduplicated, in a fixed order."""
    texts: list[tuple[str, str]] = []
    for category, queries, sentences, sep in (
        ("zh", corpus.ZH_QUERIES, corpus.ZH_SENTENCES, ""),
        ("en", corpus.EN_QUERIES, corpus.EN_SENTENCES, " "),
    ):
        texts += [(q, category) for q in queries]
        texts += [(s, category) for s in sentences]
        texts += [(s, category) for s in _joined_sentences(sentences, sep)]
        texts += [(p, category) for p in _paragraphs(sentences, sep, 40)]
    texts += [(snippet, "code") for _, snippet in corpus.CODE_SNIPPETS]
    texts += [(f, "code") for f in _code_files()]
    texts += [(m, "mixed") for m in corpus.MIXED]
    texts += [(m, "mixed") for m in _joined_sentences(corpus.MIXED, " | ")[:20]]
    seen: set[str] = set()
    items = []
    for text, category in texts:
        if text not in seen:
            seen.add(text)
            items.append(_item(text, category))
    return tuple(items)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A shipped workload: how many users, how many texts per request, which texts."""

    name: str
    users: int
    inputs_per_request: int
    categories: tuple[str, ...]
    min_chars: int
    max_chars: int
    description: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "single",
            1,
            1,
            ("zh",),
            20,
            60,
            "1 user, one short Chinese sentence per request, back to back",
        ),
        Scenario(
            "medium",
            16,
            10,
            ("zh",),
            20,
            200,
            "16 users, ten Chinese sentences of 20-200 chars per request",
        ),
        Scenario(
            "peak",
            64,
            1,
            CATEGORIES,
            1,
            _LONGEST_ITEM_CHARS,
            "64 users, one mixed zh/en/code/mixed-language text of up to ~1,000 chars",
        ),
    )
}


def scenario_pools(
    scenario: Scenario, items: Iterable[Payload], *, user_corpus: bool = False
) -> dict[str, tuple[Payload, ...]]:
    """The items a scenario draws from, by category. A user corpus is taken whole."""
    pools: dict[str, list[Payload]] = {}
    for item in items:
        if not user_corpus and (
            item.category not in scenario.categories
            or not scenario.min_chars <= len(item.text) <= scenario.max_chars
        ):
            continue
        pools.setdefault(item.category, []).append(item)
    if not pools:
        raise ValueError(f"scenario {scenario.name!r} has no texts to send from this corpus")
    return {category: tuple(pool) for category, pool in sorted(pools.items())}


def user_seed(seed: int, user_index: int) -> int:
    """Each user gets its own stream, so adding users never changes another user's texts."""
    return seed * 1_000_003 + user_index


class PayloadSampler:
    """Draws request batches: a category uniformly, then a text of it uniformly."""

    def __init__(self, pools: dict[str, tuple[Payload, ...]], seed: int) -> None:
        self._rng = random.Random(seed)
        self._pools = [pools[c] for c in sorted(pools)]

    def draw(self, n: int) -> list[Payload]:
        choice = self._rng.choice
        return [choice(choice(self._pools)) for _ in range(n)]


def describe_batch(batch: Sequence[Payload]) -> tuple[str, str, int]:
    """(category, bucket, chars) of a request: `multi` where its texts differ."""
    first = batch[0]
    if len(batch) == 1:  # the common case, once per request on the generator's core
        return first.category, first.bucket, len(first.text)
    category = first.category if all(p.category == first.category for p in batch) else "multi"
    bucket = first.bucket if all(p.bucket == first.bucket for p in batch) else "multi"
    return category, bucket, sum(len(p.text) for p in batch)


def parse_corpus(content: str, *, jsonl: bool) -> tuple[Payload, ...]:
    """A user corpus: one text a line, or JSON lines with `text` and optional `category`."""
    items = []
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        if not jsonl:
            items.append(_item(line, "user"))
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {lineno}: not JSON ({exc.msg})") from None
        text = row.get("text") if isinstance(row, dict) else None
        if not isinstance(text, str) or not text:
            raise ValueError(f"line {lineno}: needs a non-empty string field 'text'")
        category = row.get("category", "user")
        items.append(_item(text, str(category)))
    if not items:
        raise ValueError("the corpus has no texts")
    return tuple(items)
