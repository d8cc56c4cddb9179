"""The master's side of a distributed test: workers' rows and vectors written as they come, and
each worker's final count checked against what arrived before the summary is made."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loadtest.core.arrivals import ArrivalCount
from loadtest.loadgen.messages import WorkerBatch
from loadtest.loadgen.recorder import Recorder

_NONE = ArrivalCount()


@dataclass
class _Tally:
    received: int = 0
    sent: int | None = None  # from the worker's final batch
    arrivals: ArrivalCount | None = None  # likewise, in an open loop


class Gathering:
    """What each worker sent, written through the master's recorder."""

    def __init__(self, recorder: Recorder, shared: set[str] | None = None) -> None:
        self.recorder = recorder
        self.shared = shared or set()  # the workers given a share of an open loop
        self.tallies: dict[str, _Tally] = {}

    def take(self, batch: WorkerBatch) -> int:
        """Writes the batch; the rows received from its worker so far."""
        self.recorder.take(batch.rows, batch.vectors)
        tally = self.tallies.setdefault(batch.worker, _Tally())
        tally.received += len(batch.rows)
        if batch.sent is not None:
            tally.sent = batch.sent
            tally.arrivals = batch.arrivals
        return tally.received

    def arrivals(self) -> ArrivalCount | None:
        """The workers' open-loop arrivals together; None in a closed loop."""
        counts = [t.arrivals for t in self.tallies.values() if t.arrivals is not None]
        return sum(counts, ArrivalCount()) if counts else None

    def complete(self, worker: str) -> bool:
        tally = self.tallies.get(worker)
        return tally is not None and tally.sent is not None and tally.received >= tally.sent

    def shortfalls(self, workers: Iterable[str], open_loop: float | None = None) -> list[str]:
        """One line per worker whose records did not all arrive, and in an open loop, per
        worker that sent none of its share of the arrivals."""
        lines = []
        for worker in sorted(set(workers) | set(self.tallies)):
            tally = self.tallies.get(worker, _Tally())
            due = (tally.arrivals or _NONE).due
            if (
                open_loop is not None
                and worker in self.shared
                and tally.sent is not None
                and not due
            ):
                lines.append(
                    f"{worker} ran no users, so its share of the {open_loop:g} req/s went "
                    "unsent: give -u at least one user per worker"
                )
            if tally.sent is None:
                lines.append(
                    f"{worker} never sent its final records ({tally.received} received): "
                    "the summary misses its last requests"
                )
            elif tally.received < tally.sent:
                lines.append(f"{worker} sent {tally.sent} records, {tally.received} arrived")
        return lines
