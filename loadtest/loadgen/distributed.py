"""A distributed test (`--processes`, or `--master` and `--worker` on several hosts): what the
master and its workers tell each other (loadgen/messages.py), and how nothing is lost at the end.

At the start the master hands its workers the run's preflight, done once by the master (among
the options Locust forwards with every spawn message), and in an open loop sends each worker
its share of the schedule; a worker that joins later takes no part in that schedule. At the
end each worker sends Locust's stats and then its final batch (with the count of every row it
sent) from its own test_stop, and the master, before it summarises, asks any worker still
running to stop, waits (bounded) until every worker's rows have all arrived, and names in one
line, and in the summary, a worker that never reported.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtest.core.arrivals import ArrivalCount
from loadtest.loadgen import messages
from loadtest.loadgen.flusher import stop_if_unwritable
from loadtest.loadgen.messages import Ack, Share, WorkerBatch
from loadtest.loadgen.state import state_of
from loadtest.target.preflight import Preflight

log = logging.getLogger("embload")
_FINAL_WAIT_S = 10.0  # past --stop-timeout, for workers' final batches
_SHARE_LEAD_S = 1.0  # workers start the schedule this long after the master's test_start
USERS_PER_WORKER = 1_000_000  # worker N's users are numbered from N * this: seeds stay apart


def worker_name(index: object) -> str:
    """A worker as records, summaries and warnings name it: by Locust's worker index."""
    return f"worker-{index}"


def register(environment: Environment) -> None:
    """The messages this process takes, by its role."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(messages.RECORDS, _on_records)
    elif isinstance(runner, WorkerRunner):
        # concurrent: the listener must stay free to take Locust's own messages meanwhile
        runner.register_message(messages.STOP, _on_stop, concurrent=True)
        runner.register_message(messages.ACK, _on_ack)
        runner.register_message(messages.SHARE, _on_share)


def hand_out(runner: MasterRunner, found: Preflight, open_loop: bool) -> tuple[float, set[str]]:
    """The master's test start: the preflight for every worker, and in an open loop each one's
    share of the schedule. When the load starts (wall clock), and the workers given a share."""
    opts = runner.environment.parsed_options
    if opts is not None:
        setattr(opts, messages.PREFLIGHT_OPTION, found.model_dump_json())
    start_at = time.time()
    if not open_loop:
        return start_at, set()
    start_at += _SHARE_LEAD_S  # by then Locust has spawned -r = -u users
    clients = sorted(runner.clients.all, key=lambda c: runner.worker_indexes.get(c.id, 0))
    for slot, client in enumerate(clients):
        share = Share(slot=slot, of=len(clients), start_at=start_at)
        runner.send_message(messages.SHARE, share.to_message(), client_id=client.id)
    return start_at, {worker_name(runner.worker_indexes.get(c.id, "?")) for c in clients}


def handed_preflight(environment: Environment) -> Preflight | None:
    """A worker's: the run's preflight as the master's options brought it."""
    found = getattr(environment.parsed_options, messages.PREFLIGHT_OPTION, None)
    return Preflight.model_validate_json(found) if isinstance(found, str) else None


def _on_share(environment: Environment, msg: Any, **_: Any) -> None:
    state_of(environment).share = Share.model_validate(msg.data)


def send_batch(runner: WorkerRunner, batch: WorkerBatch) -> None:
    if batch.rows or batch.vectors or batch.sent is not None:
        runner.send_message(messages.RECORDS, batch.to_message())


def send_final(runner: WorkerRunner, batch: WorkerBatch) -> None:
    """Locust's own stats of the last requests first, then the final batch: the master has
    both before it summarises, so records and Locust's count agree. Locust has no public way
    to send a worker's stats now (its reporter sends them every few seconds): this is the one
    call embload makes to a private Locust method."""
    runner._send_stats()
    state_of(runner.environment).sent = batch.sent or 0
    send_batch(runner, batch)


def _on_records(environment: Environment, msg: Any, **_: Any) -> None:
    """Master: write a worker's batch; acknowledge a final one with what arrived."""
    gathering = state_of(environment).gathering
    batch = WorkerBatch.from_message(msg.data)
    if gathering is None:
        log.warning(
            "embload: %d records from %s came after the summary", len(batch.rows), batch.worker
        )
        return
    received = gathering.take(batch)
    stop_if_unwritable(environment, gathering.recorder)
    if batch.sent is not None:
        ack = Ack(received=received, sent=batch.sent)
        runner = environment.runner
        assert isinstance(runner, MasterRunner)
        runner.send_message(messages.ACK, ack.to_message(), client_id=msg.node_id)


def _on_stop(environment: Environment, **_: Any) -> None:
    """Worker: the master is about to summarise. Stop as Locust stops (users end their request
    within --stop-timeout; test_stop sends the final batch), or repeat the final count."""
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    state = state_of(environment)
    if state.test is not None:
        runner.stop()
    else:
        send_batch(runner, WorkerBatch(worker_name(runner.worker_index), [], [], state.sent))


def _on_ack(environment: Environment, msg: Any, **_: Any) -> None:
    ack = Ack.model_validate(msg.data)
    if ack.received < ack.sent:
        log.warning(
            "embload: the master has %d of this worker's %d records", ack.received, ack.sent
        )


def await_workers(
    environment: Environment, runner: MasterRunner, open_loop: float | None
) -> tuple[list[str], ArrivalCount | None]:
    """Every worker's final batch, waited for (bounded): a line per worker that fell short, and
    the workers' open-loop arrivals together."""
    state = state_of(environment)
    gathering = state.gathering
    assert gathering is not None
    names = {c.id: worker_name(runner.worker_indexes.get(c.id, "?")) for c in runner.clients.all}
    for client_id, name in names.items():
        if not gathering.complete(name):  # headless --run-time: Locust has not stopped it yet
            runner.send_message(messages.STOP, None, client_id=client_id)
    expected = set(names.values()) | set(gathering.tallies)
    deadline = time.monotonic() + environment.stop_timeout + _FINAL_WAIT_S
    while not all(gathering.complete(n) for n in expected) and time.monotonic() < deadline:
        gevent.sleep(0.02)
    state.gathering = None
    return gathering.shortfalls(expected, open_loop), gathering.arrivals()
