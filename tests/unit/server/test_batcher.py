"""Dynamic batching: pass planning, and concurrent requests sharing forward passes."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from loadtest.server.batcher import Batcher, OutOfMemory, QueueFull, plan_passes


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


class FakeOom(Exception):
    """Stands in for torch.cuda.OutOfMemoryError: the batcher only asks `is_oom`."""


def oom_above(limit: int, calls: list[int], frees: list[int]):  # type: ignore[no-untyped-def]
    def embed(batch: list[list[int]]) -> np.ndarray:
        calls.append(len(batch))
        if len(batch) > limit:
            raise FakeOom(f"CUDA out of memory with {len(batch)} texts")
        return np.array([[float(ids[0]), 1.0] for ids in batch])

    return embed


def run_burst(batcher: Batcher, n: int) -> list[np.ndarray | BaseException]:
    async def main() -> list[np.ndarray | BaseException]:
        with batcher.arriving():  # the gather window holds until all n are queued
            futures = [batcher.submit([[i]]) for i in range(n)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    return asyncio.run(main())


def test_out_of_memory_splits_the_pass_and_retries_once() -> None:
    calls: list[int] = []
    frees: list[int] = []
    batcher = Batcher(
        oom_above(4, calls, frees),
        gather_s=5.0,
        is_oom=lambda exc: isinstance(exc, FakeOom),
        free_memory=lambda: frees.append(1),
    )
    results = run_burst(batcher, 8)
    # 8 texts run out of memory; after freeing, halves of 4 fit: every request is served.
    assert [float(r[0, 0]) for r in results if isinstance(r, np.ndarray)] == list(range(8))
    assert calls[0] == 8 and calls[1:] == [4, 4]
    assert batcher.oom_retries == 1 and len(frees) == 1


def test_a_half_that_runs_out_again_fails_alone_and_the_server_goes_on() -> None:
    calls: list[int] = []
    batcher = Batcher(
        oom_above(0, calls, []),  # every pass runs out of memory
        gather_s=5.0,
        is_oom=lambda exc: isinstance(exc, FakeOom),
    )
    results = run_burst(batcher, 6)
    assert all(isinstance(r, OutOfMemory) for r in results)
    assert calls[:3] == [6, 3, 3]  # one retry in halves, never more
    healthy = Batcher(oom_above(64, [], []), is_oom=lambda exc: isinstance(exc, FakeOom))
    assert isinstance(run_burst(healthy, 1)[0], np.ndarray)


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def embed(batch: list[list[int]]) -> np.ndarray:
        calls.append(len(batch))
        raise ValueError("bad token id")

    batcher = Batcher(embed, gather_s=0.0, is_oom=lambda exc: isinstance(exc, FakeOom))
    (result,) = run_burst(batcher, 1)
    assert isinstance(result, ValueError) and calls == [1]


def _refusal(batcher: Batcher, ids: list[list[int]]) -> QueueFull | None:
    """What submitting `ids` raised, if it did (a refusal adds nothing to the queue)."""
    try:
        batcher.submit(ids)
    except QueueFull as exc:
        return exc
    return None


def test_work_past_max_wait_is_refused_with_when_to_come_back() -> None:
    gate, seen = threading.Event(), []
    embed = fake_embed(gate, seen)

    def slow(batch: list[list[int]]) -> np.ndarray:
        time.sleep(0.1)  # 400 tokens a pass: ~4,000 tokens/s
        return embed(batch)  # type: ignore[no-any-return]

    batcher = Batcher(slow, max_batch_size=4, gather_s=0.0, max_wait_s=2.0)

    async def main() -> tuple[object, object, object]:
        gate.set()
        await batcher.submit([[1] * 100] * 4)  # a pass of 400 tokens: the rate is measured
        rate = batcher.best_rate_tokens_per_s
        assert rate is not None and 2000 < rate < 4001
        gate.clear()  # the model is busy from here: what comes next waits
        held = batcher.submit([[1] * 100])
        await asyncio.sleep(0.05)  # the model thread has taken it and waits at the gate
        # under a full pass queued: never refused, however slow the last pass was
        queued = [batcher.submit([[1] * int(rate)]) for _ in range(3)]
        under_a_pass = batcher.overload(int(rate))
        queued.append(batcher.submit([[1] * int(rate)]))  # 4 texts: ~4 s of work queued
        refused = batcher.overload()
        raised = _refusal(batcher, [[1] * 10])
        gate.set()
        await asyncio.gather(held, *queued)
        return under_a_pass, refused, raised

    under_a_pass, refused, raised = asyncio.run(main())
    assert under_a_pass is None
    assert isinstance(refused, QueueFull) and 1.5 < refused.retry_after_s < 2.5
    assert "s of work is queued (limit 2 s)" in str(refused)
    assert isinstance(raised, QueueFull)
    assert batcher.overload() is None  # drained: room again


def test_no_max_wait_queues_up_to_max_queue() -> None:
    gate, seen = threading.Event(), []
    batcher = Batcher(fake_embed(gate, seen), max_batch_size=1, gather_s=0.0, max_queue=2)

    async def main() -> object:
        gate.set()
        await batcher.submit([[1]])
        gate.clear()
        held = batcher.submit([[1]])
        await asyncio.sleep(0.05)
        queued = [batcher.submit([[1] * 10_000]) for _ in range(2)]
        assert batcher.overload(10**9) is None
        raised = _refusal(batcher, [[1]])
        gate.set()
        await asyncio.gather(held, *queued)
        return raised

    raised = asyncio.run(main())
    assert isinstance(raised, QueueFull) and "2 texts are queued (limit 2)" in str(raised)


def test_small_passes_say_nothing_of_the_rate_and_refuse_nothing() -> None:
    gate, seen = threading.Event(), []
    gate.set()
    batcher = Batcher(fake_embed(gate, seen), max_batch_size=8, gather_s=0.0, max_wait_s=0.001)

    async def main() -> None:
        await batcher.submit([[1] * 50])  # a lone request: a pass of one text
        await batcher.submit([[1] * 50] * 3)  # under half of max_batch_size
        assert batcher.best_rate_tokens_per_s is None
        await batcher.submit([[1] * 50] * 4)  # half full: now it counts
        assert batcher.best_rate_tokens_per_s is not None

    asyncio.run(main())
