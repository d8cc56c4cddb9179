"""EmbeddingUser: the Locust user that sends a scenario's payloads and checks every reply."""

from __future__ import annotations

import time
from typing import ClassVar

import gevent
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, insecure_ssl_context_factory
from locust.exception import CatchResponseError

from loadtest.core.marking import instructed
from loadtest.core.payloads import PayloadSampler, Scenario, describe_batch, user_seed
from loadtest.core.record import NO_CLOCK, RecordRow
from loadtest.core.replies import timed_out
from loadtest.core.types import ErrorKind
from loadtest.core.wire import failure
from loadtest.loadgen.open_loop import Due, OpenLoop
from loadtest.loadgen.recorder import Recorder
from loadtest.loadgen.state import state_of
from loadtest.target.codec import check_reply, encode_request, server_clock, status_note

_CONNECTION_PAUSE_S = 0.1
_TEST_WAIT_S = 15.0  # a user started before its test (loadgen/hooks.py: a worker joining late)
# The record, built as tuple.__new__ builds it: RecordRow(...) runs the NamedTuple's generated
# __new__, a Python call that costs the generator's core twice as much (bench/RESULTS.md).
_new_row = tuple.__new__


def transport_error(exc: BaseException, status: int | None) -> tuple[ErrorKind, str]:
    """The error kind of a request that got no complete HTTP reply; `status` when its headers
    had come (the body then broke off)."""
    if isinstance(exc, TimeoutError | gevent.Timeout):
        return timed_out(EmbeddingUser.network_timeout)
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
    retries, decompression), and skipping them leaves the core free for the reply check
    (bench/generator.py measures what that buys: bench/RESULTS.md). Every request is reported
    to Locust's `request` event, failures with the checker's verdict.
    """

    abstract = True
    scenario: ClassVar[Scenario]

    def on_start(self) -> None:
        state = state_of(self.environment)
        deadline = time.monotonic() + _TEST_WAIT_S
        while state.test is None and time.monotonic() < deadline:
            gevent.sleep(0.01)  # a worker that joined mid-test starts its test a moment late
        test = state.test
        if test is None:
            raise RuntimeError("an EmbeddingUser runs only inside a test started by Locust")
        self._test: Recorder = test.recorder
        self._open: OpenLoop | None = test.open_loop
        rec = self._test
        self.user_index = rec.next_user
        rec.next_user += 1
        self._sampler = PayloadSampler(rec.pools, user_seed(rec.settings.seed, self.user_index))
        self._inputs = rec.inputs_per_request
        self._due: Due | None = None
        self._warmup = rec.warmup_counter
        self._path, self._dialect = rec.path, rec.preflight.dialect
        self._http = HTTPClient.from_url(
            rec.preflight.host,
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
        due, self._due = self._due, None
        trace_line = None
        if due is not None and due.request is not None:
            batch = test.trace_batch(due.request)
            trace_line = due.request.line
        else:
            batch = self._sampler.draw(self._inputs)
        texts = [p.text for p in batch]
        if s.instruction:
            texts = [instructed(s.instruction, t) for t in texts]
        body = encode_request(texts, test.model, s.encoding_format, s.dimensions, self._dialect)
        response = None
        start_time = time.time()
        t0 = time.perf_counter()
        send_lag_s = None
        if due is not None:  # open loop: timed from when it was due
            send_lag_s, t0, start_time, warmup = t0 - due.perf, due.perf, due.wall, due.warmup
        else:
            warmup = self._warmup(start_time)
        try:
            response = self._http.request("POST", self._path, body=body, headers=test.headers)
            content = response.read()
        except FAILURE_EXCEPTIONS as exc:
            latency_s = time.perf_counter() - t0
            content = b""
            status_seen = None if response is None else response.status_code
            check = failure(*transport_error(exc, status_seen))
        else:
            latency_s = time.perf_counter() - t0
            check = check_reply(
                response.status_code, content, len(texts), test.expected_dim, test.shape
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
        clock = NO_CLOCK if response is None else server_clock(response.get)
        test.buffer.append(
            _new_row(
                RecordRow,
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
                    *clock,
                    warmup,
                    trace_line,
                ),
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
