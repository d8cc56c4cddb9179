"""A distributed test (`--processes`, or `--master` and `--worker` on several hosts): what the
master and its workers tell each other (loadgen/messages.py), and how nothing is lost at the end.

At the start the master sends each worker its WorkerPlan: the run's preflight, done once by the
master, and in an open loop its share of the schedule. At the end each worker sends Locust's
stats and then its final batch (with the count of every row it sent) from its own test_stop,
and the master, before it summarises, asks any worker still running to stop, waits (bounded)
until every worker's rows have all arrived, and names in one line, and in the summary, a
worker that never reported.
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
from loadtest.loadgen.messages import Ack, Share, WorkerBatch, WorkerPlan
from loadtest.loadgen.state import listen, state_of
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
        listen(
            environment.events.worker_connect,
            lambda client_id, **_: _on_worker_connect(environment, client_id),
        )
    elif isinstance(runner, WorkerRunner):
        # concurrent: the listener must stay free to take Locust's own messages meanwhile
        runner.register_message(messages.STOP, _on_stop, concurrent=True)
        runner.register_message(messages.ACK, _on_ack)
        runner.register_message(messages.PLAN, _on_plan)


def send_plans(runner: MasterRunner, found: Preflight | None, rate_rps: float | None) -> float:
    """The master's test start: each worker's plan; when the load starts (wall clock)."""
    clients = sorted(runner.clients.all, key=lambda c: runner.worker_indexes.get(c.id, 0))
    start_at = time.time()
    if rate_rps is not None:
        start_at += _SHARE_LEAD_S  # by then Locust has spawned -r = -u users
    for slot, client in enumerate(clients):
        share = Share(slot=slot, of=len(clients), start_at=start_at)
        plan = WorkerPlan(preflight=found, share=share if rate_rps is not None else None)
        runner.send_message(messages.PLAN, plan.to_message(), client_id=client.id)
    state_of(runner.environment).plan_sent = WorkerPlan(preflight=found)
    return start_at


def _on_worker_connect(environment: Environment, client_id: str) -> None:
    """A worker that joins mid-test gets the preflight (no share: the schedule is shared out)."""
    state, runner = state_of(environment), environment.runner
    if state.test is not None and state.plan_sent is not None and runner is not None:
        runner.send_message(messages.PLAN, state.plan_sent.to_message(), client_id=client_id)


def _on_plan(environment: Environment, msg: Any, **_: Any) -> None:
    state_of(environment).plan = WorkerPlan.model_validate(msg.data)


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
