"""`embload probe TARGET`: are the vectors right, and do they stay right under load?

Over HTTP (httpx), against any OpenAI-style endpoint: every probe text embedded at rest in
batches of 32 (the reference), then the separation figures of core/probe.py; consistency: one
text twice, a text alone vs inside a 64-text batch, and every probe text again from 64
concurrent one-text requests, each compared with its reference (the worst cosine is kept).
Under load: replies sampled during the scenario runs (`--embload-keep-vectors`) against the
same texts at rest. A server with random weights is not probed: its vectors mean nothing, and
the result says so.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import numpy as np

from loadtest.client import Target, list_model_cards
from loadtest.core.probe import consistency_flags, cosine, probe_texts, separation

_BATCH = 32


class ProbeError(Exception):
    """The target did not answer the probe properly; one line."""


def _vectors(doc: dict[str, Any]) -> list[np.ndarray]:
    rows = sorted(doc["data"], key=lambda d: d["index"])
    out = []
    for row in rows:
        emb = row["embedding"]
        if isinstance(emb, str):
            out.append(np.frombuffer(base64.b64decode(emb), dtype="<f4").astype(np.float64))
        else:
            out.append(np.asarray(emb, dtype=np.float64))
    return out


def _embed(http: httpx.Client, url: str, texts: list[str], model: str | None) -> list[np.ndarray]:
    body: dict[str, Any] = {"input": texts, "encoding_format": "base64"}
    if model:
        body["model"] = model
    reply = http.post(url, json=body, timeout=300)
    if reply.status_code != 200:
        raise ProbeError(f"{url} answered HTTP {reply.status_code}: {reply.text[:200]}")
    return _vectors(reply.json())


async def _under_load(
    url: str, texts: list[str], model: str | None, headers: dict[str, str]
) -> list[np.ndarray]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, headers=headers) as http:
        gate = asyncio.Semaphore(64)

        async def one(text: str) -> np.ndarray:
            body: dict[str, Any] = {"input": text, "encoding_format": "base64"}
            if model:
                body["model"] = model
            async with gate:
                reply = await http.post(url, json=body, timeout=300)
            if reply.status_code != 200:
                raise ProbeError(f"{url} answered HTTP {reply.status_code} under load")
            return _vectors(reply.json())[0]

        return list(await asyncio.gather(*(one(t) for t in texts)))


def probe(
    target: Target,
    model: str | None = None,
    api_key: str | None = None,
    sampled: list[tuple[str, np.ndarray]] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`sampled`: (text, vector) of replies kept during load runs (`--embload-keep-vectors`),
    each compared with the same text embedded now, at rest."""
    cards = list_model_cards(target, api_key)
    card = next((c for c in cards if c["id"] == model), cards[0] if cards else {})
    model = model or card.get("id")
    if card.get("weights") == "random":
        return {
            "target": target.base_url,
            "model": model,
            "skipped": "the server runs random weights: its vectors mean nothing, so quality "
            "was not probed",
        }
    url = target.base_url + "/embeddings"
    headers = {
        **(extra_headers or {}),
        **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
    }
    texts = probe_texts()
    with httpx.Client(headers=headers) as http:
        reference: dict[str, np.ndarray] = {}
        for start in range(0, len(texts), _BATCH):
            chunk = texts[start : start + _BATCH]
            reference.update(zip(chunk, _embed(http, url, chunk, model), strict=True))
        text = texts[0]
        twice = [_embed(http, url, [text], model)[0] for _ in range(2)]
        batch = [text if i == 31 else texts[(i * 7) % len(texts)] for i in range(64)]
        in_batch = _embed(http, url, batch, model)[31]
        at_rest: list[np.ndarray] = []
        sample_texts = [t for t, _ in sampled or []]
        for start in range(0, len(sample_texts), _BATCH):
            at_rest += _embed(http, url, sample_texts[start : start + _BATCH], model)
    burst = asyncio.run(_under_load(url, texts, model, headers))
    figures: dict[str, float | None] = {
        "same_text": cosine(twice[0], twice[1]),
        "in_batch": cosine(twice[0], in_batch),
        # replies sampled during the scenario runs against the same texts now, at rest
        "under_load_worst": min(
            (cosine(v, r) for (_, v), r in zip(sampled or [], at_rest, strict=True)),
            default=None,
        ),
        "under_load_samples": len(at_rest),
        # every probe text again from 64 concurrent requests against its reference
        "burst_worst": min(cosine(v, reference[t]) for t, v in zip(texts, burst, strict=True)),
    }
    return {
        "target": target.base_url,
        "model": model,
        "texts": len(texts),
        "separation": separation(lambda t: reference[t]),
        "consistency": figures,
        "flags": consistency_flags(figures),
    }
