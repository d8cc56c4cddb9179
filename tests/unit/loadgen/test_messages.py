"""The master/worker messages survive Locust's wire as their types: msgpack, packed and unpacked
as locust/rpc/protocol.py does (importing locust here would patch this process with gevent)."""

from __future__ import annotations

import msgpack

from loadtest.core.arrivals import ArrivalCount
from loadtest.core.record import RecordRow
from loadtest.core.types import ErrorKind
from loadtest.loadgen.messages import Ack, Share, WorkerBatch
from loadtest.target.preflight import Preflight


def _wire(data: object) -> object:
    """What the other side of Locust's connection gets."""
    packed = msgpack.dumps(("m", data, "node"))
    return msgpack.loads(packed, raw=False, strict_map_key=False)[1]


def test_a_worker_batch_arrives_as_named_records() -> None:
    rows = [
        RecordRow(1.0, 0.01, 200, None, None, 1, 5, 3, "zh", "short", 7, "worker-1"),
        RecordRow(
            2.0, 0.5, 503, ErrorKind.OOM, "out of memory", 2, 9, None, "en", "short", 8,
            "worker-1", 0.002, 0.001, 0.0, 0.3, 0.4,
        ),
    ]  # fmt: skip
    batch = WorkerBatch("worker-1", rows, [{"text": "t", "vector": "AAAA"}], 2, ArrivalCount(5, 1))
    back = WorkerBatch.from_message(_wire(batch.to_message()))
    assert back == batch
    assert back.rows[1].error is ErrorKind.OOM and back.rows[1].server_total_s == 0.4
    assert isinstance(back.rows[0], RecordRow) and back.rows[0].user == 7


def test_the_share_the_ack_and_the_preflight_are_their_types_again() -> None:
    share = Share(slot=1, of=3, start_at=1234.5)
    assert Share.model_validate(_wire(share.to_message())) == share
    found = Preflight(host="http://h:1", prefix="/v1", dialect="tei", model="m", card=None)
    # the preflight rides among the master's options, as the JSON text Locust forwards
    back = Preflight.model_validate_json(
        str(_wire({"embload_preflight": found.model_dump_json()})["embload_preflight"])
    )  # type: ignore[index]
    assert back == found and back.target.dialect == "tei"
    ack = Ack(received=3, sent=4)
    assert Ack.model_validate(_wire(ack.to_message())) == ack
