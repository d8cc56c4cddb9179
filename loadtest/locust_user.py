"""EmbeddingUser and the Locust hooks that turn one test into one run directory.

The only module that imports locust. A test (test_start to test_stop, headless or from the web
UI) becomes `reports/<time>-<scenario>/` with records.jsonl and summary.json. Users buffer their
records in memory; a flusher greenlet writes them (local runner) or sends them to the master
(workers) twice a second, so the hot path never touches the disk or the network beyond its
request.
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar

import gevent
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, insecure_ssl_context_factory
from locust.env import Environment
from locust.exception import CatchResponseError
from locust.runners import MasterRunner, WorkerRunner

from loadtest.client import (
    Target,
    TargetUnreachable,
    check_reply,
    encode_request,
    list_model_cards,
    parse_target,
    reply_vectors,
)
from loadtest.core.payloads import (
    SCENARIOS,
    PayloadSampler,
    Scenario,
    describe_batch,
    user_seed,
)
from loadtest.core.telemetry import DEFAULT_OOM_THRESHOLD
from loadtest.core.types import ErrorKind, RecordRow
from loadtest.core.wire import failure, instructed
from loadtest.monitor import MonitorConfig
from loadtest.session import (
    OPTIONS,
    Session,
    begin_recording,
    finish_recording,
    new_session,
    run_dir_for,
)
from loadtest.store import vector_row

log = logging.getLogger("embload")
_FLUSH_INTERVAL_S = 0.5
_CONNECTION_PAUSE_S = 0.1
_REPORT_TIMEOUT_S = 300
_RECORDS_MESSAGE = "embload_records"


def _listen(hook: Any, listener: Callable[..., None]) -> None:
    """Locust's add_listener is untyped; calling it here keeps the listeners themselves typed."""
    hook.add_listener(listener)


def _add_arguments(parser: Any) -> None:
    for name, kind, default, help_text, extra in OPTIONS:
        parser.add_argument(
            f"--embload-{name}",
            env_var="EMBLOAD_" + name.upper().replace("-", "_"),
            type=kind,
            default=default,
            help=help_text,
            **extra,
        )


def scenario_user(name: str) -> type[EmbeddingUser]:
    """The User class of a shipped scenario; its user count becomes Locust's default `-u`."""
    scenario = SCENARIOS[name]

    def _defaults(parser: Any) -> None:
        parser.set_defaults(num_users=scenario.users, spawn_rate=scenario.users)

    _listen(events.init_command_line_parser, _defaults)

    cls_name = f"{name.capitalize()}User"
    return type(cls_name, (EmbeddingUser,), {"scenario": scenario, "__module__": __name__})


_test: Session | None = None


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


def _server_model(opts: Any, target: Target, api_key: str | None) -> tuple[str | None, Any]:
    """The model name to send (--embload-model, else the first listed) and its card, if any."""
    try:
        cards = list_model_cards(target, api_key)
    except TargetUnreachable as exc:
        log.warning("embload: %s; sending no model name", exc)
        return opts.embload_model or None, None
    name = opts.embload_model or (str(cards[0]["id"]) if cards else None)
    return name, next((card for card in cards if card["id"] == name), None)


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
    runner = environment.runner
    model, card = _server_model(opts, target, api_key)
    try:
        extra = json.loads(opts.embload_headers) if opts.embload_headers else {}
    except ValueError:
        raise SystemExit("embload: --embload-headers is not a JSON object") from None
    _test = new_session(
        scenario=scenario,
        target=target,
        model=model,
        server_model=card,
        instruction=opts.embload_instruction or None,
        extra_headers={str(k): str(v) for k, v in extra.items()},
        api_key=api_key,
        encoding=opts.embload_encoding,
        dimensions=opts.embload_dimensions or None,
        seed=opts.embload_seed,
        corpus=opts.embload_corpus or None,
        worker=f"worker-{runner.worker_index}" if isinstance(runner, WorkerRunner) else "local",
    )
    EmbeddingUser.network_timeout = EmbeddingUser.connection_timeout = opts.embload_timeout
    # What exists now (modules, corpus, Locust) lives all run: keep the collector off it, and
    # collect young objects less often. Measured: ~5% more requests per core (bench/RESULTS.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if isinstance(runner, WorkerRunner):
        _test.flusher = gevent.spawn(_flush_loop, _test, lambda recs: _send(runner, recs))
        return
    _test.keep_vectors = opts.embload_keep_vectors  # local runner only: workers do not sample
    health = opts.embload_health_path
    begin_recording(
        _test,
        MonitorConfig(
            run_dir=run_dir_for(opts.embload_out, opts.embload_reports, scenario.name),
            interval_s=opts.embload_gpu_interval,
            gpu_index=opts.embload_gpu_index or None,
            gpu_agent=opts.embload_gpu_agent or None,
            server_pid=opts.embload_server_pid or None,
            health_url=target.host + health if health else None,
        ),
    )
    if not isinstance(runner, MasterRunner):
        assert _test.writer is not None
        _test.flusher = gevent.spawn(_flush_loop, _test, _test.writer.write)


def _send(runner: WorkerRunner, rows: list[RecordRow]) -> None:
    # ErrorKind crosses msgpack as its text; the master writes rows as they come.
    plain = [[*row[:3], row[3] and row[3].value, *row[4:]] for row in rows]
    runner.send_message(_RECORDS_MESSAGE, plain)  # type: ignore[arg-type]  # msgpack takes lists


def _on_records_message(environment: Environment, msg: Any, **_: Any) -> None:
    if _test is not None and _test.writer is not None:
        _test.writer.write(msg.data)


def _on_init(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(_RECORDS_MESSAGE, _on_records_message)


def _on_spawned(user_count: int, **_: Any) -> None:
    if _test is not None:
        _test.peak_users = max(_test.peak_users, user_count)


def _flush(test: Session, sink: Any) -> None:
    if test.buffer:
        batch, test.buffer = test.buffer, []
        sink(batch)


def _flush_loop(test: Session, sink: Any) -> None:
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
    assert test.writer is not None
    _flush(test, test.writer.write)
    opts = environment.parsed_options
    summary = finish_recording(
        test,
        users=opts.num_users if opts else None,
        server_pid=opts.embload_server_pid if opts else None,
        oom_threshold=opts.embload_oom_threshold if opts else DEFAULT_OOM_THRESHOLD,
    )
    print(f"embload: wrote {test.run_dir} ({summary['requests']} requests)", file=sys.stderr)
    # Its own process: the report layer is not Locust's to import, nor matplotlib its to hold.
    rendered = subprocess.run(
        [sys.executable, "-m", "loadtest.report", str(test.run_dir)],
        capture_output=True,
        text=True,
        timeout=_REPORT_TIMEOUT_S,
        check=False,
    )
    if rendered.returncode != 0:
        why = (rendered.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"embload: report.html not written: {why}", file=sys.stderr)


_KEEP_EVERY = 10  # one good reply in ten, so the sample spans the run


def _sample_vectors(test: Session, texts: list[str], content: bytes) -> None:
    """Now and then, the reply's vectors with their texts, for the probe's under-load check."""
    test.good_replies += 1
    keep = (
        test.good_replies % _KEEP_EVERY == 0
        and test.good_replies // _KEEP_EVERY <= test.keep_vectors
    )
    if keep and test.vectors is not None:
        vectors = reply_vectors(content)
        test.vectors.write(vector_row(t, v) for t, v in zip(texts, vectors, strict=True))


def _transport_error(exc: BaseException) -> tuple[ErrorKind, str]:
    """The error kind of a request that got no complete HTTP reply."""
    if isinstance(exc, TimeoutError | gevent.Timeout):
        timeout_s = EmbeddingUser.network_timeout
        return ErrorKind.TIMEOUT, f"no reply within the {timeout_s:g} s timeout"
    if isinstance(exc, HTTPConnectionClosed):  # before HTTPParseError: it is one
        return ErrorKind.CONNECTION, "the server closed the connection without a reply"
    if isinstance(exc, HTTPParseError):
        return ErrorKind.INVALID_RESPONSE, f"unparseable HTTP reply: {exc}"
    return ErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}"


class EmbeddingUser(FastHttpUser):
    """Sends the scenario's payloads back to back and checks every reply.

    A FastHttpUser (hosts, spawning, the web UI and Locust's statistics work as usual) that
    sends through geventhttpclient's HTTPClient, the layer FastHttpSession itself sits on.
    A POST to an embeddings route needs none of FastHttpSession's extras (cookies, redirects,
    retries, decompression), and skipping them leaves the core free for the reply check:
    measured 1.7x the requests per core of `self.client.post` (bench/RESULTS.md). Every request
    is reported to Locust's `request` event, failures with the checker's verdict.
    """

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
        self._http = HTTPClient.from_url(
            _test.target.host,
            concurrency=1,  # one request at a time per user, over one kept-alive connection
            connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout,
            insecure=self.insecure,
            ssl_context_factory=insecure_ssl_context_factory if self.insecure else None,
        )

    def on_stop(self) -> None:
        self._http.close()

    @task
    def embed(self) -> None:
        test = self._test
        batch = self._sampler.draw(self._inputs)
        texts = [p.text for p in batch]
        if test.instruction:
            texts = [instructed(test.instruction, t) for t in texts]
        body = encode_request(texts, test.model, test.encoding, test.dimensions)
        response = None
        start_time = time.time()
        t0 = time.perf_counter()
        try:
            response = self._http.request("POST", test.path, body=body, headers=test.headers)
            content = response.read()
        except FAILURE_EXCEPTIONS as exc:
            latency_s = time.perf_counter() - t0
            content = b""
            check = failure(*_transport_error(exc))
        else:
            latency_s = time.perf_counter() - t0
            check = check_reply(response.status_code, content, len(texts), test.expected_dim)
        status = response.status_code if response is not None else 0
        if check.error is None and test.expected_dim is None:
            test.expected_dim = check.dim
        if check.error is None and test.vectors is not None:
            _sample_vectors(test, texts, content)
        self.environment.events.request.fire(
            request_type="POST",
            name=test.path,
            response_time=latency_s * 1000,
            response_length=len(content),
            response=response,
            context=self.context(),
            exception=None
            if check.error is None
            else CatchResponseError(f"{check.error.value}: {check.message}"),
            start_time=start_time,
            url=test.url,
        )
        if check.error is ErrorKind.CONNECTION:
            # A server that is down refuses in microseconds: without a pause each user would
            # write thousands of identical failures a second until it is back.
            gevent.sleep(_CONNECTION_PAUSE_S)
        category, bucket, chars = describe_batch(batch)
        test.buffer.append(
            (
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


_listen(events.init_command_line_parser, _add_arguments)
_listen(events.init, _on_init)
_listen(events.test_start, _on_test_start)
_listen(events.spawning_complete, _on_spawned)
_listen(events.test_stop, _on_test_stop)
