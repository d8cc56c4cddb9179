"""Dynamic batching: pass planning, and concurrent requests sharing forward passes."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from loadtest.server.batcher import Batcher, plan_passes


def test_passes_respect_the_token_budget() -> None:
    lengths = [10] * 64
    assert plan_passes(lengths, 16384) == [(0, 64)]
    assert plan_passes(lengths, 100) == [
        (0, 10),
        (10, 20),
        (20, 30),
        (30, 40),
        (40, 50),
        (50, 60),
        (60, 64),
    ]


def test_passes_split_where_padding_would_waste_over_half() -> None:
    lengths = [5, 8, 12, 30, 40, 70, 200, 256]
    passes = plan_passes(lengths, 16384)
    assert passes[0] == (0, 4)  # short texts share a pass whatever their spread
    for start, end in passes:
        chunk = lengths[start:end]
        assert chunk[-1] <= 32 or chunk[-1] <= 2 * chunk[0]
    assert [i for s, e in passes for i in range(s, e)] == list(range(len(lengths)))


def test_a_text_longer_than_the_budget_still_gets_a_pass() -> None:
    assert plan_passes([5000], 1000) == [(0, 1)]


def fake_embed(gate: threading.Event, seen: list[int]):  # type: ignore[no-untyped-def]
    def embed(batch: list[list[int]]) -> np.ndarray:
        gate.wait(5)
        seen.append(len(batch))
        return np.array([[float(ids[0]), 1.0] for ids in batch])

    return embed


def test_concurrent_requests_share_passes_and_keep_their_order() -> None:
    gate, seen = threading.Event(), []
    batcher = Batcher(fake_embed(gate, seen), max_batch_size=64, gather_s=0.0)

    async def main() -> list[np.ndarray]:
        # the first request occupies the model; the next 64 queue up behind it
        first = batcher.submit([[999]])
        futures = [batcher.submit([[i], [i + 1000]]) for i in range(32)]
        gate.set()
        await first
        return list(await asyncio.gather(*futures))

    results = asyncio.run(main())
    assert [r[:, 0].tolist() for r in results] == [[i, i + 1000] for i in range(32)]
    assert sum(seen) == 65
    assert len(seen) <= 3  # 64 queued texts take one pass, not 64


def test_a_failing_pass_fails_its_requests_and_the_batcher_keeps_serving() -> None:
    calls = []

    def embed(batch: list[list[int]]) -> np.ndarray:
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return np.ones((len(batch), 2))

    batcher = Batcher(embed, gather_s=0.0)

    async def main() -> tuple[BaseException | None, np.ndarray]:
        try:
            await batcher.submit([[1]])
            err = None
        except RuntimeError as exc:
            err = exc
        return err, await batcher.submit([[2]])

    err, ok = asyncio.run(main())
    assert isinstance(err, RuntimeError) and ok.shape == (1, 2)
