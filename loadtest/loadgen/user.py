"""EmbeddingUser and the Locust hooks that turn one test into one run directory.

The only module that imports locust. A test (test_start to test_stop, headless or from the web
UI) becomes `reports/<time>-<scenario>/` with records.jsonl and summary.json. Its Recorder
lives on Locust's Environment for the length of the test. Users buffer their records in
memory; a flusher greenlet writes them (local runner) or sends them to the master (workers)
20 times a second, so the hot path never touches the disk or the network beyond its request.

A distributed test (`--processes`, or `--master` and `--worker` on several hosts) loses
nothing at its end: each worker sends Locust's stats and then its final batch (with the count
of every row it sent) from its own test_stop, and the master, before it summarises, asks any
worker still running to stop, waits (bounded) until every worker's rows have all arrived, and
names in one line, and in the summary, a worker that never reported.

Settings: `--embload-*` options generated from LoadSettings, with the resolved value (the
runner's EMBLOAD_SETTINGS, else EMBLOAD_* variables, else embload.toml [run], else the
default) as each one's default, so Locust's web UI shows what a test will use.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gevent
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from locust import FastHttpUser, events, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, insecure_ssl_context_factory
from locust.env import Environment
from locust.exception import CatchResponseError
from locust.runners import MasterRunner, WorkerRunner

from loadtest import web_tab
from loadtest.client import (
    EmbeddingsClient,
    Target,
    TargetUnreachable,
    check_reply,
    encode_request,
    parse_target,
    redact,
    server_clock,
    status_note,
)
from loadtest.core.arrivals import ArrivalCount, ArrivalPlan, Schedule
from loadtest.core.dialects import SPECS
from loadtest.core.payloads import SCENARIOS, PayloadSampler, Scenario, describe_batch, user_seed
from loadtest.core.results import ModelCard
from loadtest.core.thresholds import crossed_line, parse_thresholds
from loadtest.core.types import ErrorKind
from loadtest.core.wire import failure, instructed
from loadtest.data import builtin_corpus
from loadtest.open_loop import OpenLoop
from loadtest.options import locust_arguments, settings_from
from loadtest.recorder import Gathering, Recorder, WorkerBatch, new_recorder, run_dir_for
from loadtest.routes import PreflightFailed, find_route
from loadtest.settings import LoadSettings
from loadtest.store import REPORT

log = logging.getLogger("embload")
_FLUSH_INTERVAL_S = 0.05
_PIECE_ROWS = 64  # records written or sent between two yields to the other greenlets
_CONNECTION_PAUSE_S = 0.1
_RECORDS_MESSAGE = "embload_records"  # worker -> master: a WorkerBatch
_STOP_MESSAGE = "embload_stop"  # master -> worker: stop now and send the final batch
_ACK_MESSAGE = "embload_ack"  # master -> worker: how many of its rows arrived
_SHARE_MESSAGE = "embload_share"  # master -> worker: its slot among the workers (open loop)
_ON_ENVIRONMENT = "embload_recorder"  # the attribute of Locust's Environment holding the test
_GATHERING = "embload_gathering"  # on a master's Environment, while its test runs
_SENT = "embload_sent"  # on a worker's Environment: rows its last test sent
_SHARE = "embload_share"  # on a worker's Environment: (slot, of) of the next test
_OPEN_LOOP = "embload_open_loop"  # on the Environment, while an open-loop test runs
_RAMP = "embload_ramp"  # on a master's Environment: the greenlet spawning users, while it runs
_RUN_TIME = "embload_run_time"  # on a headless local or master Environment: Locust's -t
_TAB = "embload_tab"  # on a web UI's Environment: the LiveTab of the last test started
_SIGNAL = "embload_signal"  # on the Environment: SIGINT or SIGTERM, once one came
_FINAL_WAIT_S = 10.0  # past --stop-timeout, for workers' final batches
_SHARE_LEAD_S = 1.0  # workers start the schedule this long after the master's test_start
_USERS_PER_WORKER = 1_000_000  # worker N's users are numbered from N * this: seeds stay apart
RunWritten = Callable[[Path], None]


def _listen(hook: Any, listener: Callable[..., None]) -> None:
    """Locust's add_listener is untyped; calling it here keeps the listeners themselves typed."""
    hook.add_listener(listener)


def scenario_user(name: str, on_written: RunWritten | None = None) -> type[EmbeddingUser]:
    """The User class of a shipped scenario; its user count becomes Locust's default `-u`.
    `on_written(run_dir)` runs once summary.json is written (the report layer renders there)."""
    scenario = SCENARIOS[name]

    def _defaults(parser: Any) -> None:
        parser.set_defaults(num_users=scenario.users, spawn_rate=scenario.users)

    _listen(events.init_command_line_parser, _defaults)
    attrs = {"scenario": scenario, "on_written": on_written, "__module__": __name__}
    return type(f"{name.capitalize()}User", (EmbeddingUser,), attrs)


def recorder_of(environment: Environment) -> Recorder:
    recorder: Recorder | None = getattr(environment, _ON_ENVIRONMENT, None)
    if recorder is None:
        raise RuntimeError("an EmbeddingUser runs only inside a test started by Locust")
    return recorder


def _user_class(environment: Environment) -> type[EmbeddingUser]:
    found = [c for c in environment.user_classes if issubclass(c, EmbeddingUser)]
    if len(found) != 1:
        raise SystemExit(
            "embload: a locustfile runs exactly one embload scenario; found "
            + (", ".join(sorted(c.scenario.name for c in found)) or "none")
        )
    return found[0]


def _target_and_card(host: str, settings: LoadSettings) -> tuple[Target, ModelCard | None]:
    """--host as a target (a bare one asked where its embeddings route is), and its model."""
    try:
        target = parse_target(host, settings.dialect)
    except ValueError as exc:
        raise SystemExit(f"embload: {exc}") from None
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    try:
        with EmbeddingsClient(target, api_key=api_key, headers=settings.headers) as client:
            if target.probe:
                text = builtin_corpus()[0].text
                target = client.target = find_route(client, target, text, settings.model)
                log.info("embload: embeddings route %s (%s)", redact(target.url), target.dialect)
            return target, client.model_card(settings.model)
    except TargetUnreachable as exc:
        log.warning("embload: %s; sending the model name as given", exc)
        return target, None
    except PreflightFailed as exc:
        raise SystemExit(f"embload: {exc}") from None


def _on_test_start(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    if environment.host is None or opts is None:
        raise SystemExit(
            "embload: no --host given; pass the server, e.g. --host http://127.0.0.1:30000"
        )
    settings = settings_from(opts, LoadSettings)
    target, card = _target_and_card(environment.host, settings)
    user_class = _user_class(environment)
    runner = environment.runner
    worker = _worker_name(runner.worker_index) if isinstance(runner, WorkerRunner) else "local"
    try:
        recorder = new_recorder(settings, user_class.scenario, target, card, worker)
        if settings.fail_on:
            recorder.thresholds = parse_thresholds(settings.fail_on)
    except ValueError as exc:  # ThresholdError is one
        raise SystemExit(f"embload: {exc}") from None
    setattr(environment, _ON_ENVIRONMENT, recorder)
    EmbeddingUser.network_timeout = EmbeddingUser.connection_timeout = settings.timeout_s
    # What exists now (modules, corpus, Locust) lives all run: keep the collector off it, and
    # collect young objects less often. Measured: ~5% more requests per core (bench/RESULTS.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if isinstance(runner, WorkerRunner):
        _open_loop(environment, settings)
        recorder.next_user = max(0, runner.worker_index) * _USERS_PER_WORKER
        recorder.begin_worker()
        gevent.spawn(
            _flush_loop,
            environment,
            lambda n: _send(runner, recorder.batch(limit=n)),
        )
        return
    recorder.begin(run_dir_for(settings, user_class.scenario.name))
    if environment.web_ui is not None:  # the tab shows this test from now on
        tab = web_tab.LiveTab()
        recorder.live = tab.figures
        setattr(environment, _TAB, tab)
    recorder.started_at = _open_loop(environment, settings)
    run_time_s: float | None = getattr(environment, _RUN_TIME, None)
    if run_time_s and opts is not None:
        opts.run_time = run_time_s  # for --html's {t}, as Locust had it
        gevent.spawn_later(recorder.started_at - time.time() + run_time_s, _time_up, runner)
    if isinstance(runner, MasterRunner):
        setattr(environment, _GATHERING, Gathering(recorder))
        setattr(environment, _RAMP, gevent.getcurrent())  # test_start fires in runner.start
    else:
        gevent.spawn(_flush_loop, environment, recorder.flush)


class _RunTimeLine(logging.Filter):
    """Locust's start-up line, told the truth: there is a limit, embload's."""

    def __init__(self, run_time_s: float) -> None:
        super().__init__()
        self.line = f"Run time limit set to {run_time_s:g} seconds, counted from the load's start"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("No run time limit set"):
            record.msg, record.args = self.line, ()
        return True


def _time_up(runner: Any) -> None:
    log.info("--run-time limit reached, shutting down")  # Locust's own words
    runner.quit()


def _open_loop(environment: Environment, settings: LoadSettings) -> float:
    """With --embload-rate: this process's share of the schedule (a master shares it out).
    When the load starts: a distributed open loop's shared start, else now."""
    runner = environment.runner
    loop = None
    start_at = time.time()
    if settings.rate_rps is not None and isinstance(runner, MasterRunner):
        clients = sorted(runner.clients.all, key=lambda c: runner.worker_indexes.get(c.id, 0))
        start_at += _SHARE_LEAD_S  # by then Locust has spawned -r = -u users
        for slot, client in enumerate(clients):
            message = {"slot": slot, "of": len(clients), "start_at": start_at}
            runner.send_message(_SHARE_MESSAGE, message, client_id=client.id)
    elif settings.rate_rps is not None:
        share: tuple[int, int, float | None] = getattr(environment, _SHARE, (0, 1, None))
        plan = ArrivalPlan(settings.rate_rps, settings.arrival, settings.burstiness, *share[:2])
        loop = OpenLoop(Schedule(plan, settings.seed), share[2])
    setattr(environment, _OPEN_LOOP, loop)
    return start_at


def _on_share_message(environment: Environment, msg: Any, **_: Any) -> None:
    setattr(environment, _SHARE, (msg.data["slot"], msg.data["of"], msg.data["start_at"]))


def _on_test_stopping(environment: Environment, **_: Any) -> None:
    """No arrival comes due once users start stopping: each one due was sent or dropped."""
    loop: OpenLoop | None = getattr(environment, _OPEN_LOOP, None)
    if loop is not None:
        loop.stop()
    ramp = getattr(environment, _RAMP, None)
    setattr(environment, _RAMP, None)
    if isinstance(ramp, gevent.Greenlet) and ramp is not gevent.getcurrent() and not ramp.dead:
        # A master stopped mid-ramp (-t before -u/-r is reached) goes on sending spawn messages
        # (Locust 2.47 stops only a local runner's ramp): a worker that gets one after the
        # final batch starts a new test, whose requests Locust counts and no record holds.
        ramp.kill(block=False)


def _send(runner: WorkerRunner, batch: WorkerBatch) -> None:
    if batch.rows or batch.vectors or batch.sent is not None:
        runner.send_message(_RECORDS_MESSAGE, batch.to_message())


def _on_records_message(environment: Environment, msg: Any, **_: Any) -> None:
    """Master: write a worker's batch; acknowledge a final one with what arrived."""
    gathering: Gathering | None = getattr(environment, _GATHERING, None)
    batch = WorkerBatch.from_message(msg.data)
    if gathering is None:
        log.warning(
            "embload: %d records from %s came after the summary", len(batch.rows), batch.worker
        )
        return
    received = gathering.take(batch)
    _stop_if_unwritable(environment, gathering.recorder)
    if batch.sent is not None:
        runner = environment.runner
        assert isinstance(runner, MasterRunner)
        ack = {"received": received, "sent": batch.sent}
        runner.send_message(_ACK_MESSAGE, ack, client_id=msg.node_id)


def _on_stop_message(environment: Environment, **_: Any) -> None:
    """Worker: the master is about to summarise. Stop as Locust stops (users end their request
    within --stop-timeout; test_stop sends the final batch), or repeat the final count."""
    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    if getattr(environment, _ON_ENVIRONMENT, None) is not None:
        runner.stop()
    else:
        final = WorkerBatch(
            _worker_name(runner.worker_index), [], [], getattr(environment, _SENT, 0)
        )
        _send(runner, final)


def _on_ack_message(environment: Environment, msg: Any, **_: Any) -> None:
    if msg.data["received"] < msg.data["sent"]:
        log.warning(
            "embload: the master has %(received)d of this worker's %(sent)d records", msg.data
        )


def _worker_name(index: object) -> str:
    """A worker as records, summaries and warnings name it: by Locust's worker index."""
    return f"worker-{index}"


def _await_workers(
    environment: Environment, runner: MasterRunner, open_loop: float | None
) -> tuple[list[str], ArrivalCount | None]:
    """Every worker's final batch, waited for (bounded): a line per worker that fell short, and
    the workers' open-loop arrivals together."""
    gathering: Gathering = getattr(environment, _GATHERING)
    names = {c.id: _worker_name(runner.worker_indexes.get(c.id, "?")) for c in runner.clients.all}
    for client_id, name in names.items():
        if not gathering.complete(name):  # headless --run-time: Locust has not stopped it yet
            runner.send_message(_STOP_MESSAGE, None, client_id=client_id)
    expected = set(names.values()) | set(gathering.tallies)
    deadline = time.monotonic() + environment.stop_timeout + _FINAL_WAIT_S
    while not all(gathering.complete(n) for n in expected) and time.monotonic() < deadline:
        gevent.sleep(0.02)
    setattr(environment, _GATHERING, None)
    return gathering.shortfalls(expected, open_loop), gathering.arrivals()


def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    opts = environment.parsed_options
    if opts is not None and opts.headless and opts.run_time and not opts.worker:
        # Locust starts --run-time's clock before test_start, where embload looks the model up
        # and takes the telemetry's idle baseline (0.3 s here, over 1 s on a busy machine): a
        # 2 s run once loaded for 0.9 s. The clock is embload's, and starts with the load.
        setattr(environment, _RUN_TIME, opts.run_time)
        logging.getLogger("locust.main").addFilter(_RunTimeLine(opts.run_time))
        opts.run_time = None  # given back at test_start, once Locust has looked
    _watch_signals(environment)
    if environment.web_ui is not None:
        web_tab.install(environment.web_ui, lambda: getattr(environment, _TAB, None))
    if isinstance(runner, MasterRunner):
        runner.register_message(_RECORDS_MESSAGE, _on_records_message)
    elif isinstance(runner, WorkerRunner):
        # concurrent: the listener must stay free to take Locust's own messages meanwhile
        runner.register_message(_STOP_MESSAGE, _on_stop_message, concurrent=True)
        runner.register_message(_ACK_MESSAGE, _on_ack_message)
        runner.register_message(_SHARE_MESSAGE, _on_share_message)

    def spawned(user_count: int, **_: Any) -> None:  # Locust passes no environment here
        recorder: Recorder | None = getattr(environment, _ON_ENVIRONMENT, None)
        if recorder is not None:
            recorder.peak_users = max(recorder.peak_users, user_count)

    _listen(environment.events.spawning_complete, spawned)


def _watch_signals(environment: Environment) -> None:
    """Notes SIGINT or SIGTERM, so a summary says the test was cut short, and leaves stopping to
    Locust as ever: its SIGTERM handler (a second libev watcher: both run, this one first), and
    for SIGINT its KeyboardInterrupt."""

    def seen(name: str) -> None:
        if getattr(environment, _SIGNAL, None) is None:
            setattr(environment, _SIGNAL, name)
            # now: Locust's shutdown reads it before it stops the test
            environment.process_exit_code = 128 + signal.Signals[name].value

    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:  # nohup and friends: Ctrl-C stays ignored

        def on_int(signum: int, frame: Any) -> None:
            seen("SIGINT")
            if callable(previous):
                previous(signum, frame)
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_int)
    gevent.signal_handler(signal.SIGTERM, seen, "SIGTERM")


def _flush_loop(environment: Environment, flush: Callable[[int], object]) -> None:
    """Every 50 ms until the test's recorder is gone: write (local) or send (worker) what the
    users buffered, a piece at a time with a yield between pieces, so an open loop's arrivals
    never wait behind one long write. bench/open_loop.py, send lag P99 at 6,400 req/s: 8.9 ms
    with one write every 0.5 s, 2.2-2.9 ms in pieces of 64, 1.2-1.4 ms every 50 ms."""
    recorder = recorder_of(environment)
    while getattr(environment, _ON_ENVIRONMENT, None) is recorder:
        gevent.sleep(_FLUSH_INTERVAL_S)
        pieces = -(-len(recorder.buffer) // _PIECE_ROWS)  # those buffered now, no more
        for _ in range(pieces):
            if getattr(environment, _ON_ENVIRONMENT, None) is not recorder:
                break  # test_stop sends the rest
            flush(_PIECE_ROWS)
            gevent.sleep(0)
        _stop_if_unwritable(environment, recorder)


def _stop_if_unwritable(environment: Environment, recorder: Recorder) -> None:
    """Records that cannot be written (the disk filled): the load stops, once, saying why; a
    load whose requests leave no record measures nothing."""
    if recorder.write_error is None or recorder.stopping:
        return
    recorder.stopping = True
    print(f"embload: {recorder.write_error}: stopping the load", file=sys.stderr)
    runner = environment.runner
    opts = environment.parsed_options
    if runner is not None:
        gevent.spawn(runner.quit if opts is not None and opts.headless else runner.stop)


def _on_test_stop(environment: Environment, **_: Any) -> None:
    recorder: Recorder | None = getattr(environment, _ON_ENVIRONMENT, None)
    if recorder is None:
        return
    setattr(environment, _ON_ENVIRONMENT, None)  # ends the flush loop
    loop: OpenLoop | None = getattr(environment, _OPEN_LOOP, None)
    arrivals = loop.count if loop is not None else None
    setattr(environment, _OPEN_LOOP, None)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # Locust's own stats of the last requests first, then the final batch: the master has
        # both before it summarises, so records and Locust's count agree.
        runner._send_stats()
        final = recorder.batch(final=True, arrivals=arrivals)
        setattr(environment, _SENT, final.sent)
        _send(runner, final)
        return
    warnings: list[str] = []
    if isinstance(runner, MasterRunner):
        warnings, arrivals = _await_workers(environment, runner, recorder.settings.rate_rps)
    for line in warnings:
        print(f"embload: warning: {line}", file=sys.stderr)
    opts = environment.parsed_options
    interrupted: str | None = getattr(environment, _SIGNAL, None)
    run_dir = recorder.run_dir
    assert run_dir is not None
    try:
        summary = recorder.finish(
            users=opts.num_users if opts else None,
            warnings=warnings,
            arrivals=arrivals,
            interrupted=interrupted,
        )
    except OSError as exc:  # the disk is full: what was written stays
        print(f"embload: cannot write {run_dir}/summary.json: {exc}", file=sys.stderr)
        environment.process_exit_code = 2
        return
    print(f"embload: wrote {run_dir} ({summary.requests} requests)", file=sys.stderr)
    crossed = [v for v in summary.thresholds if not v.held]
    for verdict in crossed:
        print(f"embload: threshold crossed: {crossed_line(verdict)}", file=sys.stderr)
    if crossed:
        environment.process_exit_code = 3
    if summary.write_error:
        environment.process_exit_code = 2
    if interrupted:  # as a shell reports a process a signal ended: 130, 143
        environment.process_exit_code = 128 + signal.Signals[interrupted].value
        print(
            f"embload: interrupted by {interrupted}: {run_dir} holds the part that ran",
            file=sys.stderr,
        )
    on_written = _user_class(environment).on_written
    if on_written is not None:
        try:
            on_written(run_dir)
        except Exception as exc:  # a report that fails must not take the run's files with it
            print(f"embload: report.html not written: {type(exc).__name__}: {exc}", file=sys.stderr)
    tab: web_tab.LiveTab | None = getattr(environment, _TAB, None)
    if tab is not None and (run_dir / REPORT).is_file():
        tab.report = run_dir / REPORT


def _transport_error(exc: BaseException, status: int | None) -> tuple[ErrorKind, str]:
    """The error kind of a request that got no complete HTTP reply; `status` when its headers
    had come (the body then broke off)."""
    if isinstance(exc, TimeoutError | gevent.Timeout):
        timeout_s = EmbeddingUser.network_timeout
        return ErrorKind.TIMEOUT, f"no reply within the {timeout_s:g} s timeout"
    if status is not None:  # a body cut short is the connection's failing, not the server's
        return ErrorKind.CONNECTION, (
            f"the connection broke partway through an HTTP {status} reply's body "
            f"({type(exc).__name__}: {exc})"
        )
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
    on_written: ClassVar[RunWritten | None] = None

    def on_start(self) -> None:
        test = self._test = recorder_of(self.environment)
        self.user_index = test.next_user
        test.next_user += 1
        self._sampler = PayloadSampler(test.pools, user_seed(test.settings.seed, self.user_index))
        self._inputs = test.inputs_per_request
        self._open: OpenLoop | None = getattr(self.environment, _OPEN_LOOP, None)
        self._due: tuple[float, float] | None = None
        self._path = test.target.embeddings_path
        self._dialect = test.target.dialect
        self._shape = SPECS[self._dialect].shape
        self._http = HTTPClient.from_url(
            test.target.host,
            concurrency=1,  # one request at a time per user, over one kept-alive connection
            connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout,
            insecure=self.insecure,
            ssl_context_factory=insecure_ssl_context_factory if self.insecure else None,
        )

    def on_stop(self) -> None:
        self._http.close()

    def wait_time(self) -> float:
        """Closed loop: none. Open loop: until an arrival comes due; Locust counts the user as
        waiting meanwhile, so a stopping test ends idle users at once."""
        if self._open is not None:
            self._due = self._open.take()
        return 0.0

    @task
    def embed(self) -> None:
        if self._open is not None and self._due is None:
            return  # an open loop's first task: arrivals are taken in wait_time
        test = self._test
        s = test.settings
        batch = self._sampler.draw(self._inputs)
        texts = [p.text for p in batch]
        if s.instruction:
            texts = [instructed(s.instruction, t) for t in texts]
        body = encode_request(texts, test.model, s.encoding_format, s.dimensions, self._dialect)
        response = None
        start_time = time.time()
        t0 = time.perf_counter()
        send_lag_s = None
        if self._due is not None:  # open loop: timed from when it was due
            due_perf, start_time = self._due
            send_lag_s, t0, self._due = t0 - due_perf, due_perf, None
        try:
            response = self._http.request("POST", self._path, body=body, headers=test.headers)
            content = response.read()
        except FAILURE_EXCEPTIONS as exc:
            latency_s = time.perf_counter() - t0
            content = b""
            status_seen = None if response is None else response.status_code
            check = failure(*_transport_error(exc, status_seen))
        else:
            latency_s = time.perf_counter() - t0
            check = check_reply(
                response.status_code, content, len(texts), test.expected_dim, self._shape
            )
            if check.error is not None:  # a 429's limit, a redirect's goal: from the headers
                note = status_note(response.status_code, response.get)
                check = check._replace(message=f"{check.message}{note}")
        status = response.status_code if response is not None else 0
        if check.error is None:
            if test.expected_dim is None:
                test.expected_dim = check.dim
            test.keep_vectors(texts, content)
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
                send_lag_s,
                None if response is None else server_clock(response.get),
            )
        )
        self.environment.events.request.fire(
            request_type="POST",
            name=self._path,
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
        if check.error is ErrorKind.CONNECTION and self._open is None:
            # A server that is down refuses in microseconds: without a pause each user would
            # write thousands of identical failures a second until it is back.
            gevent.sleep(_CONNECTION_PAUSE_S)


_listen(events.init_command_line_parser, lambda parser: locust_arguments(parser, LoadSettings))
_listen(events.init, _on_init)
_listen(events.test_start, _on_test_start)
_listen(events.test_stopping, _on_test_stopping)
_listen(events.test_stop, _on_test_stop)
