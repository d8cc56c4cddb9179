"""What a Locust master and its workers tell each other about a test, each message a type.

Locust carries messages as msgpack (plain dicts, lists and strings); each type here says how it
becomes one and back. The master's plan reaches a worker before Locust's own spawn message (both
are sent from the master's test_start, in that order, over one connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from loadtest.core.arrivals import ArrivalCount
from loadtest.core.record import RecordRow
from loadtest.core.types import ErrorKind
from loadtest.target.preflight import Preflight

RECORDS = "embload_records"  # worker -> master: a WorkerBatch
STOP = "embload_stop"  # master -> worker: stop now and send the final batch
ACK = "embload_ack"  # master -> worker: an Ack
PLAN = "embload_plan"  # master -> worker: a WorkerPlan


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_message(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Share(_Message):
    """A worker's slot of an open loop's schedule, and when the schedule starts (wall clock)."""

    slot: int
    of: int
    start_at: float


class WorkerPlan(_Message):
    """What a worker needs from the master before its test starts: the run's preflight (done
    once, by the master) and, in an open loop, its share of the arrivals."""

    preflight: Preflight | None  # None: the master could not reach the target either
    share: Share | None = None


class Ack(_Message):
    """How many of a worker's rows the master has, against how many the worker sent."""

    received: int
    sent: int


@dataclass(frozen=True)
class WorkerBatch:
    """What a worker sends the master: records and sampled vectors since the last batch. The
    final one (`sent`: rows sent in the whole test) lets the master check nothing was lost."""

    worker: str
    rows: list[RecordRow]
    vectors: list[dict[str, str]]
    sent: int | None = None  # set on the final batch only
    arrivals: ArrivalCount | None = None  # an open loop's, on the final batch

    def to_message(self) -> dict[str, object]:
        """Plain lists and strings, as Locust's msgpack carries them (ErrorKind as its text)."""
        rows = [[*r[:3], r.error and r.error.value, *r[4:]] for r in self.rows]
        a = self.arrivals
        arrivals = a and [a.due, a.dropped, a.active_s]
        return {
            "worker": self.worker,
            "rows": rows,
            "vectors": self.vectors,
            "sent": self.sent,
            "arrivals": arrivals,
        }

    @classmethod
    def from_message(cls, data: Any) -> WorkerBatch:
        """The batch from what msgpack delivered (`data`: to_message's dict)."""
        rows = [RecordRow._make([*r[:3], r[3] and ErrorKind(r[3]), *r[4:]]) for r in data["rows"]]
        arrivals = data["arrivals"] and ArrivalCount(*data["arrivals"])
        return cls(data["worker"], rows, data["vectors"], data["sent"], arrivals)
