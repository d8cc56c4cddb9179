"""What a Locust master and its workers tell each other about a test, each message a type.

Locust carries messages as msgpack (plain dicts, lists and strings); each type here says how it
becomes one and back. An open loop's Share reaches a worker before Locust's own spawn message
(both are sent from the master's test_start, in that order, over one connection). The run's
Preflight travels with every spawn message instead, among the options Locust forwards to its
workers (PREFLIGHT_OPTION), so a worker that joins mid-test has it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from loadtest.core.arrivals import ArrivalCount
from loadtest.core.record import FIELD_NAMES, RecordRow
from loadtest.core.types import ErrorKind

RECORDS = "embload_records"  # worker -> master: a WorkerBatch
STOP = "embload_stop"  # master -> worker: stop now and send the final batch
ACK = "embload_ack"  # master -> worker: an Ack
SHARE = "embload_share"  # master -> worker: a Share
# the master's parsed option holding the run's Preflight as JSON; Locust forwards every option
# that is not one of its own to its workers with each spawn message
PREFLIGHT_OPTION = "embload_preflight"
_ERROR = FIELD_NAMES.index("error")  # an ErrorKind in a row, its text on the wire


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_message(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Share(_Message):
    """A worker's slot of an open loop's schedule, and when the schedule starts (wall clock)."""

    slot: int
    of: int
    start_at: float


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
        rows = [[*r[:_ERROR], r.error and r.error.value, *r[_ERROR + 1 :]] for r in self.rows]
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
        rows = [
            RecordRow._make([*r[:_ERROR], r[_ERROR] and ErrorKind(r[_ERROR]), *r[_ERROR + 1 :]])
            for r in data["rows"]
        ]
        arrivals = data["arrivals"] and ArrivalCount(*data["arrivals"])
        return cls(data["worker"], rows, data["vectors"], data["sent"], arrivals)
