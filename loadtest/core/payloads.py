"""Payloads: the three scenarios, which texts each draws, seeded sampling, and the corpus parser.

A corpus is JSON lines (`text`, optional `category`) or plain lines of text, the built-in one
(`loadtest/data/corpus.jsonl`) and a user's `--corpus` alike: one parser reads both. Every item
gets a length bucket from its character count: `short` <= 32 chars, `medium` <= 256, `long`
<= 1024, `xlong` beyond.

A scenario draws its texts in strata, each stratum equally often, then a text of it uniformly:
`peak` by category, so zh, en, code and mixed each make a quarter of the load whatever their
counts; `medium` by length band, so its 20-200 chars are spread evenly and not crowded at the
short end, where most written sentences fall.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from loadtest.core.types import Payload

CATEGORIES = ("zh", "en", "code", "mixed")
_BUCKET_LIMITS = ((32, "short"), (256, "medium"), (1024, "long"))


def bucket_for(chars: int) -> str:
    for limit, name in _BUCKET_LIMITS:
        if chars <= limit:
            return name
    return "xlong"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A shipped workload: how many users, how many texts per request, which texts."""

    name: str
    users: int
    inputs_per_request: int
    categories: tuple[str, ...]
    min_chars: int
    max_chars: int
    strata: Literal["category", "length"]  # what is drawn evenly before a text is drawn
    description: str
    length_bands: int = 1  # with strata="length": equal-width bands over min..max chars


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "single",
            users=1,
            inputs_per_request=1,
            categories=("zh",),
            min_chars=20,
            max_chars=60,
            strata="category",
            description="1 user, one short Chinese sentence (20-60 chars) per request",
        ),
        Scenario(
            "medium",
            users=16,
            inputs_per_request=10,
            categories=("zh",),
            min_chars=20,
            max_chars=200,
            strata="length",
            length_bands=5,
            description="16 users, ten Chinese texts of 20-200 chars per request, "
            "lengths spread evenly",
        ),
        Scenario(
            "peak",
            users=64,
            inputs_per_request=1,
            categories=CATEGORIES,
            min_chars=1,
            max_chars=1100,
            strata="category",
            description="64 users, one text per request: zh, en, code and mixed drawn evenly, "
            "up to ~1,000 chars",
        ),
    )
}


def _band(scenario: Scenario, chars: int) -> str:
    width = (scenario.max_chars - scenario.min_chars + 1) / scenario.length_bands
    k = min(int((chars - scenario.min_chars) / width), scenario.length_bands - 1)
    low = scenario.min_chars + round(k * width)
    high = scenario.min_chars + round((k + 1) * width) - 1
    return f"{low}-{high} chars"


def scenario_pools(
    scenario: Scenario, items: Iterable[Payload], *, user_corpus: bool = False
) -> dict[str, tuple[Payload, ...]]:
    """The items a scenario draws from, by stratum. A user corpus is taken whole, by category."""
    pools: dict[str, list[Payload]] = {}
    for item in items:
        if user_corpus:
            key = item.category
        elif item.category not in scenario.categories or not (
            scenario.min_chars <= len(item.text) <= scenario.max_chars
        ):
            continue
        else:
            key = (
                item.category if scenario.strata == "category" else _band(scenario, len(item.text))
            )
        pools.setdefault(key, []).append(item)
    if not pools:
        raise ValueError(f"scenario {scenario.name!r} has no texts to send from this corpus")
    return {key: tuple(pool) for key, pool in sorted(pools.items())}


def user_seed(seed: int, user_index: int) -> int:
    """Each user gets its own stream, so adding users never changes another user's texts."""
    return seed * 1_000_003 + user_index


class PayloadSampler:
    """Draws request batches: a stratum uniformly, then a text of it uniformly."""

    def __init__(self, pools: dict[str, tuple[Payload, ...]], seed: int) -> None:
        self._rng = random.Random(seed)
        self._pools = [pools[key] for key in sorted(pools)]

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


def _item(text: str, category: str) -> Payload:
    return Payload(text=text, category=category, bucket=bucket_for(len(text)))


def parse_corpus(content: str, *, jsonl: bool) -> tuple[Payload, ...]:
    """A corpus: JSON lines with `text` and optional `category`, or one text a line."""
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
        items.append(_item(text, str(row.get("category", "user"))))
    if not items:
        raise ValueError("the corpus has no texts")
    return tuple(items)
