"""`embload probe TARGET`: are the vectors right, and do they stay right under load?

Over the one embeddings client, against any OpenAI-style endpoint, every reply checked as the
load path checks it (a NaN or a wrong dimension fails the probe instead of skewing an AUC):
every probe text embedded at rest in batches of 32 (the reference), then the separation
figures of core/probe.py; consistency: one text twice, a text alone vs inside a 64-text batch,
every probe text again from 64 concurrent one-text requests, each compared with its reference.
Under load: replies sampled during the scenario runs (`--embload-keep-vectors`) against the
same texts at rest. A server with random weights is not probed: its vectors mean nothing.
"""

from __future__ import annotations

import numpy as np

from loadtest.core.comparisons import Consistency, ProbeResult
from loadtest.core.probe import ProbePairs, consistency_flags, cosine, probe_texts, separation
from loadtest.target.client import EmbeddingsClient
from loadtest.target.url import redact

_BATCH = 32
_BURST = 64


def probe(
    client: EmbeddingsClient,
    model: str | None,
    pairs: ProbePairs,
    sampled: list[tuple[str, np.ndarray]] | None = None,
) -> ProbeResult:
    """`sampled`: (text, vector) of replies kept during load runs, each compared with the same
    text embedded now, at rest. Raises EmbeddingFailed or TargetUnreachable."""
    card = client.model_card(model)
    model = model or (card.id if card else None)
    target = redact(client.target.base_url)
    if card is not None and card.weights == "random":
        why = "the server runs random weights: its vectors mean nothing, so quality was not probed"
        return ProbeResult(target=target, model=model, skipped=why)
    texts = probe_texts(pairs)

    def embed_all(chunked: list[str]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(chunked), _BATCH):
            out += client.embed(chunked[start : start + _BATCH], model)
        return out

    reference = dict(zip(texts, embed_all(texts), strict=True))
    first = texts[0]
    twice = [client.embed([first], model)[0] for _ in range(2)]
    batch = [first if i == 31 else texts[(i * 7) % len(texts)] for i in range(64)]
    in_batch = client.embed(batch, model)[31]
    sampled = sampled or []
    at_rest = embed_all([t for t, _ in sampled])
    burst = client.embed_each(texts, model, concurrency=_BURST)
    figures = Consistency(
        same_text=cosine(twice[0], twice[1]),
        in_batch=cosine(twice[0], in_batch),
        under_load_worst=min(
            (cosine(v, r) for (_, v), r in zip(sampled, at_rest, strict=True)), default=None
        ),
        under_load_samples=len(at_rest),
        burst_worst=min(cosine(v, reference[t]) for t, v in zip(texts, burst, strict=True)),
    )
    return ProbeResult(
        target=target,
        model=model,
        texts=len(texts),
        separation=separation(pairs, lambda t: reference[t]),
        consistency=figures,
        flags=consistency_flags(figures),
    )
