"""Dynamic batching: texts from concurrent requests share forward passes on one model thread.

The model thread takes queued texts oldest first (at most `max_batch_size`), sorts them by length
and runs them in as few padded passes as the token budget allows. When requests are still being
tokenized, it waits up to `gather_s` for them, so a burst of 64 one-text requests becomes one
pass; with nothing else on its way it never waits, so a lone request pays no window.
A pass that runs out of device memory is split in two and retried once (see `_forward`).

Overload is refused, not queued without end: a request that would make the queue hold more
than `max_wait_s` of work, at the best rate recent passes reached, gets QueueFull (429 with
Retry-After), once at least a full pass is waiting. The best rate of passes at least half
full, not the latest pass's: a small pass (a lone request, the first after start-up) runs far
below what the model can do, and a burst would be refused for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

_RATE_PASSES = 64  # the passes whose best rate sizes the queue


class QueueFull(Exception):
    """More texts are waiting than `max_queue` allows, or more work than `max_wait_s` of it;
    `retry_after_s`: about when there will be room."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class OutOfMemory(Exception):
    """A pass ran out of device memory, and so did its half on the one retry."""


@dataclass
class PassClock:
    """When a request's texts were queued, first went into a pass, and all had vectors
    (perf_counter seconds): the queue and inference times the server reports per reply."""

    submitted: float = field(default_factory=time.perf_counter)
    started: float | None = None
    finished: float | None = None


@dataclass
class _Job:
    """One request's texts; resolved on the event loop once every text has a vector."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[np.ndarray]
    vectors: list[np.ndarray | None]
    remaining: int
    failed: bool = False
    clock: PassClock | None = None


@dataclass(order=True)
class _Item:
    length: int
    seq: int
    ids: list[int] = field(compare=False)
    job: _Job = field(compare=False)
    index: int = field(compare=False)


def _resolve(job: _Job) -> None:
    if not job.future.done():
        job.future.set_result(np.stack(job.vectors))  # type: ignore[arg-type]


def _reject(job: _Job, exc: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(exc)


def plan_passes(
    lengths: list[int], max_batch_tokens: int, short: int = 32
) -> list[tuple[int, int]]:
    """Split length-sorted texts into [start, end) passes.

    A pass ends where its padded size would pass the token budget, or where the next text is
    over twice as long as the pass's first (padding would waste over half the pass); texts of
    up to `short` tokens always share a pass, since a pass's fixed cost outweighs their padding.
    """
    passes = []
    start = 0
    for end in range(1, len(lengths) + 1):
        # sorted ascending, so a pass's padded width is its last text's length
        width = lengths[end - 1]
        over_budget = (end - start) * width > max_batch_tokens
        too_uneven = width > short and width > 2 * lengths[start]
        if (over_budget or too_uneven) and end - 1 > start:
            passes.append((start, end - 1))
            start = end - 1
    if start < len(lengths):
        passes.append((start, len(lengths)))
    return passes


class Batcher:
    def __init__(
        self,
        embed: Callable[[list[list[int]]], np.ndarray],
        *,
        max_batch_size: int = 64,
        max_batch_tokens: int = 16384,
        gather_s: float = 0.002,
        max_queue: int = 4096,
        max_wait_s: float | None = None,
        is_oom: Callable[[BaseException], bool] = lambda exc: False,
        free_memory: Callable[[], None] = lambda: None,
        on_pass: Callable[[int, int], None] = lambda texts, padded_tokens: None,
    ) -> None:
        self._embed = embed
        self._on_pass = on_pass
        self._is_oom = is_oom
        self._free_memory = free_memory
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.gather_s = gather_s
        self.max_queue = max_queue
        self.max_wait_s = max_wait_s
        self._queue: deque[_Item] = deque()
        self._queued_tokens = 0
        self._rates: deque[float] = deque(maxlen=_RATE_PASSES)  # tokens/s of recent passes
        self._cond = threading.Condition()
        self._arriving = 0
        self._seq = 0
        self.passes = 0  # forward passes run, for tests and benchmarks
        self.oom_retries = 0  # passes split in two after running out of memory
        self._thread = threading.Thread(target=self._run, name="embload-batcher", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Held by a request from arrival to `submit`: the gather window waits for such requests."""
        with self._cond:
            self._arriving += 1
        try:
            yield
        finally:
            with self._cond:
                self._arriving -= 1
                self._cond.notify()

    @property
    def queued(self) -> int:
        """Texts waiting for a forward pass."""
        return len(self._queue)

    @property
    def best_rate_tokens_per_s(self) -> float | None:
        """The best rate of the recent passes: what the queue's wait is reckoned at."""
        with self._cond:
            return max(self._rates) if self._rates else None

    def overload(self, more_tokens: int = 0) -> QueueFull | None:
        """Why `more_tokens` more would be refused now, if they would (see the module's note)."""
        with self._cond:
            return self._overload(more_tokens)

    def _overload(self, more_tokens: int) -> QueueFull | None:
        if self.max_wait_s is None or not self._rates or len(self._queue) < self.max_batch_size:
            return None
        wait_s = (self._queued_tokens + more_tokens) / max(self._rates)
        if wait_s <= self.max_wait_s:
            return None
        return QueueFull(
            f"about {wait_s:.1f} s of work is queued (limit {self.max_wait_s:g} s)",
            retry_after_s=wait_s - self.max_wait_s,
        )

    def submit(
        self, ids: list[list[int]], clock: PassClock | None = None
    ) -> asyncio.Future[np.ndarray]:
        """The request's vectors, once computed; `clock` is filled in on the way."""
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), [None] * len(ids), len(ids), clock=clock)
        tokens = sum(map(len, ids))
        with self._cond:
            if len(self._queue) + len(ids) > self.max_queue:
                raise QueueFull(f"{len(self._queue)} texts are queued (limit {self.max_queue})")
            if (refused := self._overload(tokens)) is not None:
                raise refused
            for index, one in enumerate(ids):
                self._seq += 1
                self._queue.append(_Item(len(one), self._seq, one, job, index))
            self._queued_tokens += tokens
            self._cond.notify()
        return job.future

    def _take(self) -> list[_Item]:
        with self._cond:
            while not self._queue:
                self._cond.wait()
            deadline = time.monotonic() + self.gather_s
            while self._arriving and len(self._queue) < self.max_batch_size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(len(self._queue), self.max_batch_size)
            items = [self._queue.popleft() for _ in range(n)]
            self._queued_tokens -= sum(item.length for item in items)
            return items

    def _run(self) -> None:
        while True:
            items = sorted(self._take())
            lengths = [item.length for item in items]
            for start, end in plan_passes(lengths, self.max_batch_tokens):
                self._on_pass(end - start, (end - start) * lengths[end - 1])  # padded to longest
                self._forward(items[start:end], retry=True)

    def _sizes_rate(self, texts: int, tokens: int) -> bool:
        """A pass at least half full says what the model can do; a small one (a lone request,
        a warm-up) runs far below it, and would have a burst refused for nothing."""
        return 2 * texts >= self.max_batch_size or 2 * tokens >= self.max_batch_tokens

    def _forward(self, chunk: list[_Item], *, retry: bool) -> None:
        """One pass. Out of memory: free the cache, then each half once more; a half that runs
        out again fails its requests with OutOfMemory, the rest are served."""
        now = time.perf_counter()
        for item in chunk:
            clock = item.job.clock
            if clock is not None and clock.started is None:
                clock.started = now
        try:
            vectors = self._embed([item.ids for item in chunk])
            tokens, took_s = sum(item.length for item in chunk), time.perf_counter() - now
            if took_s > 0 and self._sizes_rate(len(chunk), tokens):
                with self._cond:
                    self._rates.append(tokens / took_s)
        except Exception as exc:
            if not self._is_oom(exc):
                self._fail(chunk, exc)  # the request fails, the server keeps serving
                return
            self._free_memory()
            if not retry:
                self._fail(chunk, OutOfMemory(f"{len(chunk)} texts: {exc}"))
                return
            self.oom_retries += 1
            half = max(len(chunk) // 2, 1)
            for part in (chunk[:half], chunk[half:]):
                if part:
                    self._forward(part, retry=False)
            return
        finally:
            self.passes += 1
        for item, vector in zip(chunk, vectors, strict=True):
            job = item.job
            job.vectors[item.index] = vector
            job.remaining -= 1
            if job.remaining == 0 and not job.failed:
                if job.clock is not None:
                    job.clock.finished = time.perf_counter()
                job.loop.call_soon_threadsafe(_resolve, job)

    @staticmethod
    def _fail(chunk: list[_Item], exc: BaseException) -> None:
        for item in chunk:
            if not item.job.failed:
                item.job.failed = True
                item.job.loop.call_soon_threadsafe(_reject, item.job, exc)
