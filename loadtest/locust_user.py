"""EmbeddingUser and the Locust hooks that turn one test into one run directory.

The only module that imports locust. A test (test_start to test_stop, headless or from the web
UI) becomes `reports/<time>-<scenario>/` with records.jsonl and summary.json. Users buffer their
records in memory; a flusher greenlet writes them (local runner) or sends them to the master
(workers) twice a second, so the hot path never touches the disk or the network beyond its
request.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import gevent
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtest import __version__
from loadtest.client import (
    Target,
    TargetUnreachable,
    check_reply,
    encode_request,
    list_models,
    parse_target,
)
from loadtest.core.payloads import (
    SCENARIOS,
    PayloadSampler,
    Scenario,
    builtin_corpus,
    describe_batch,
    scenario_pools,
    user_seed,
)
from loadtest.core.stats import summarize
from loadtest.core.types import ErrorKind, Payload, RequestRecord
from loadtest.core.wire import ReplyCheck, failure
from loadtest.store import (
    RecordWriter,
    new_run_dir,
    read_corpus,
    read_records,
    record_from_json,
    write_summary,
)

log = logging.getLogger("embload")
_FLUSH_INTERVAL_S = 0.5
_RECORDS_MESSAGE = "embload_records"
_FIELDS = [f.name for f in fields(RequestRecord)]


def _listen(hook: Any, listener: Callable[..., None]) -> None:
    """Locust's add_listener is untyped; calling it here keeps the listeners themselves typed."""
    hook.add_listener(listener)


def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--embload-model",
        env_var="EMBLOAD_MODEL",
        default="",
        help="model name to send (default: the first one /v1/models lists)",
    )
    parser.add_argument(
        "--embload-out",
        env_var="EMBLOAD_OUT",
        default="",
        help="run directory to write (default: reports/<time>-<scenario>/)",
    )
    parser.add_argument(
        "--embload-reports",
        env_var="EMBLOAD_REPORTS",
        default="reports",
        help="where new run directories go when --embload-out is not given",
    )
    parser.add_argument(
        "--embload-corpus",
        env_var="EMBLOAD_CORPUS",
        default="",
        help="texts to send instead of the built-in corpus (.txt or .jsonl)",
    )
    parser.add_argument(
        "--embload-seed",
        env_var="EMBLOAD_SEED",
        type=int,
        default=0,
        help="seed for payload sampling",
    )
    parser.add_argument(
        "--embload-encoding",
        env_var="EMBLOAD_ENCODING",
        default="float",
        choices=["float", "base64"],
        help="encoding_format to ask for",
    )
    parser.add_argument(
        "--embload-dimensions",
        env_var="EMBLOAD_DIMENSIONS",
        type=int,
        default=0,
        help="dimensions to ask for (0: the model's own)",
    )
    parser.add_argument(
        "--embload-timeout",
        env_var="EMBLOAD_TIMEOUT",
        type=float,
        default=60.0,
        help="seconds before a request counts as a timeout",
    )
    parser.add_argument(
        "--embload-api-key",
        env_var="EMBLOAD_API_KEY",
        default="",
        is_secret=True,
        help="bearer token for the endpoint (never written anywhere)",
    )


def scenario_user(name: str) -> type[EmbeddingUser]:
    """The User class of a shipped scenario; its user count becomes Locust's default `-u`."""
    scenario = SCENARIOS[name]

    def _defaults(parser: Any) -> None:
        parser.set_defaults(num_users=scenario.users, spawn_rate=scenario.users)

    _listen(events.init_command_line_parser, _defaults)

    cls_name = f"{name.capitalize()}User"
    return type(cls_name, (EmbeddingUser,), {"scenario": scenario, "__module__": __name__})


@dataclass
class _Test:
    """What one process knows about the test under way."""

    scenario: Scenario
    target: Target
    url: str
    model: str | None
    headers: dict[str, str]
    encoding: str
    dimensions: int | None
    seed: int
    pools: dict[str, tuple[Payload, ...]]
    worker: str
    started_at: float
    expected_dim: int | None = None
    buffer: list[RequestRecord] = field(default_factory=list)
    next_user: int = 0
    peak_users: int = 0
    writer: RecordWriter | None = None
    run_dir: Path | None = None
    flusher: Any = None


_test: _Test | None = None


def _user_classes_scenario(environment: Environment) -> Scenario:
    found = {
        c.scenario.name: c.scenario
        for c in environment.user_classes
        if issubclass(c, EmbeddingUser)
    }
    if len(found) != 1:
        raise SystemExit(
            "embload: a locustfile runs exactly one embload scenario; found "
            + (", ".join(sorted(found)) or "none")
        )
    return next(iter(found.values()))


def _resolve_model(opts: Any, target: Target, api_key: str | None) -> str | None:
    if opts.embload_model:
        return str(opts.embload_model)
    try:
        models = list_models(target, api_key)
    except TargetUnreachable as exc:
        log.warning("embload: %s; sending no model name", exc)
        return None
    return models[0] if models else None


def _on_test_start(environment: Environment, **_: Any) -> None:
    global _test  # noqa: PLW0603  # one test per process at a time, as Locust runs them
    opts = environment.parsed_options
    if environment.host is None or opts is None:
        raise SystemExit(
            "embload: no --host given; pass the server, e.g. --host http://127.0.0.1:30000"
        )
    target = parse_target(environment.host)
    api_key = opts.embload_api_key or None
    scenario = _user_classes_scenario(environment)
    corpus_path = opts.embload_corpus
    items = read_corpus(Path(corpus_path)) if corpus_path else builtin_corpus()
    runner = environment.runner
    worker = f"worker-{runner.worker_index}" if isinstance(runner, WorkerRunner) else "local"
    _test = _Test(
        scenario=scenario,
        target=target,
        url=target.host + target.embeddings_path,
        model=_resolve_model(opts, target, api_key),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
        },
        encoding=opts.embload_encoding,
        dimensions=opts.embload_dimensions or None,
        seed=opts.embload_seed,
        pools=scenario_pools(scenario, items, user_corpus=bool(corpus_path)),
        worker=worker,
        started_at=time.time(),
        expected_dim=opts.embload_dimensions or None,
    )
    EmbeddingUser.network_timeout = EmbeddingUser.connection_timeout = opts.embload_timeout
    if isinstance(runner, WorkerRunner):
        _test.flusher = gevent.spawn(_flush_loop, _test, lambda recs: _send(runner, recs))
        return
    if opts.embload_out:
        run_dir = Path(opts.embload_out)
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        run_dir = new_run_dir(Path(opts.embload_reports), scenario.name, datetime.now())
    _test.run_dir = run_dir
    _test.writer = RecordWriter(run_dir)
    if not isinstance(runner, MasterRunner):
        _test.flusher = gevent.spawn(_flush_loop, _test, _test.writer.write)


def _send(runner: WorkerRunner, records: list[RequestRecord]) -> None:
    rows = [[getattr(r, name) for name in _FIELDS] for r in records]
    for row in rows:
        row[3] = row[3].value if row[3] is not None else None  # ErrorKind over msgpack as text
    runner.send_message(_RECORDS_MESSAGE, rows)  # type: ignore[arg-type]  # msgpack takes lists


def _on_records_message(environment: Environment, msg: Any, **_: Any) -> None:
    if _test is not None and _test.writer is not None:
        recs = [record_from_json(dict(zip(_FIELDS, row, strict=True))) for row in msg.data]
        _test.writer.write(recs)


def _on_init(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(_RECORDS_MESSAGE, _on_records_message)


def _on_spawned(user_count: int, **_: Any) -> None:
    if _test is not None:
        _test.peak_users = max(_test.peak_users, user_count)


def _flush(test: _Test, sink: Any) -> None:
    if test.buffer:
        batch, test.buffer = test.buffer, []
        sink(batch)


def _flush_loop(test: _Test, sink: Any) -> None:
    while True:
        gevent.sleep(_FLUSH_INTERVAL_S)
        _flush(test, sink)


def _on_test_stop(environment: Environment, **_: Any) -> None:
    global _test
    test, _test = _test, None
    if test is None:
        return
    if test.flusher is not None:
        test.flusher.kill(block=True)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _flush(test, lambda recs: _send(runner, recs))
        return
    assert test.writer is not None and test.run_dir is not None
    _flush(test, test.writer.write)
    test.writer.close()
    duration_s = time.time() - test.started_at
    opts = environment.parsed_options
    meta = {
        "scenario": test.scenario.name,
        "target": test.target.base_url,
        "model": test.model,
        "users": test.peak_users or (opts.num_users if opts else None),
        "inputs_per_request": test.scenario.inputs_per_request,
        "encoding_format": test.encoding,
        "dimensions": test.dimensions,
        "seed": test.seed,
        "corpus": (opts.embload_corpus if opts else "") or "builtin",
        "started_at": datetime.fromtimestamp(test.started_at).astimezone().isoformat(),
        "embload_version": __version__,
    }
    summary = summarize(read_records(test.run_dir), duration_s=duration_s, meta=meta)
    write_summary(test.run_dir, summary)
    print(f"embload: wrote {test.run_dir} ({summary['requests']} requests)", file=sys.stderr)


def _transport_error(exc: BaseException | None) -> tuple[ErrorKind, str]:
    # geventhttpclient wraps the last failure of its retry loop: judge the original.
    cause = getattr(exc, "original", None) or exc
    if isinstance(cause, TimeoutError | gevent.Timeout):
        timeout_s = EmbeddingUser.network_timeout
        return ErrorKind.TIMEOUT, f"no reply within the {timeout_s:g} s timeout"
    if isinstance(cause, HTTPConnectionClosed):
        return ErrorKind.CONNECTION, "the server closed the connection without a reply"
    if isinstance(cause, HTTPParseError):
        return ErrorKind.INVALID_RESPONSE, f"unparseable HTTP reply: {cause}"
    return ErrorKind.CONNECTION, f"{type(cause).__name__}: {cause}"


class EmbeddingUser(FastHttpUser):
    """Sends the scenario's payloads back to back and checks every reply."""

    abstract = True
    scenario: ClassVar[Scenario]
    wait_time = constant(0)

    def on_start(self) -> None:
        assert _test is not None, "EmbeddingUser runs only inside a test started by Locust"
        self._test = _test
        self.user_index = _test.next_user
        _test.next_user += 1
        self._sampler = PayloadSampler(_test.pools, user_seed(_test.seed, self.user_index))
        self._inputs = _test.scenario.inputs_per_request

    @task
    def embed(self) -> None:
        test = self._test
        batch = self._sampler.draw(self._inputs)
        texts = [p.text for p in batch]
        body = encode_request(texts, test.model, test.encoding, test.dimensions)
        start_time = time.time()
        t0 = time.perf_counter()
        with self.client.post(
            test.url,
            data=body,  # type: ignore[arg-type]  # bytes go out as they are
            headers=test.headers,
            name=test.target.embeddings_path,
            catch_response=True,
        ) as resp:
            latency_s = time.perf_counter() - t0
            status = resp.status_code or 0
            check = self._check(resp, status, len(texts))
            if check.error is None:
                resp.success()
                if test.expected_dim is None:
                    test.expected_dim = check.dim
            else:
                resp.failure(f"{check.error.value}: {check.message}")
        category, bucket, chars = describe_batch(batch)
        test.buffer.append(
            RequestRecord(
                start_time,
                latency_s,
                status,
                check.error,
                check.message,
                len(texts),
                chars,
                check.prompt_tokens,
                category,
                bucket,
                self.user_index,
                test.worker,
            )
        )

    def _check(self, resp: Any, status: int, n_inputs: int) -> ReplyCheck:
        if status == 0:
            return failure(*_transport_error(resp.request_meta.get("exception")))
        try:
            content = resp.content or b""
        except FAILURE_EXCEPTIONS as exc:  # the reply was cut off after its status line
            return failure(*_transport_error(exc))
        return check_reply(status, content, n_inputs, self._test.expected_dim)


_listen(events.init_command_line_parser, _add_arguments)
_listen(events.init, _on_init)
_listen(events.test_start, _on_test_start)
_listen(events.spawning_complete, _on_spawned)
_listen(events.test_stop, _on_test_stop)
