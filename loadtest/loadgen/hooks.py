"""The Locust hooks that turn one test into one run directory, and the scenario User classes.

A test (test_start to test_stop, headless or from the web UI) becomes `reports/<time>-
<scenario>/` with records.jsonl, summary.json and report.html. Its Recorder lives in the
process's state (loadgen/state.py) for the length of the test. Users buffer their records in
memory; the flusher writes them (local runner) or sends them to the master (workers) 20 times a
second, so the hot path never touches the disk or the network beyond its request.

Settings: `--embload-*` options generated from LoadSettings, with the resolved value (the
runner's EMBLOAD_SETTINGS, else EMBLOAD_* variables, else embload.toml [run], else the
default) as each one's default, so Locust's web UI shows what a test will use. The preflight
runs once per test, in the local or master runner; `embload run` does it before Locust starts
and hands it over (EMBLOAD_PREFLIGHT).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtest.analysis.summary import RunEnd
from loadtest.config.options import locust_arguments, settings_from
from loadtest.config.settings import LoadSettings
from loadtest.core.arrivals import ArrivalPlan, Schedule
from loadtest.core.errors import EmbloadError, ExitCode, RequestsFailed, TargetUnreachable
from loadtest.core.outcome import run_outcome
from loadtest.core.payloads import SCENARIOS
from loadtest.core.replay import TraceSchedule, WarmupCounter, parse_warmup
from loadtest.loadgen import distributed, web_tab
from loadtest.loadgen.checkpoint import PARTIAL, Checkpoints
from loadtest.loadgen.flusher import flush_loop, trim_per_second_counts
from loadtest.loadgen.gathering import Gathering
from loadtest.loadgen.messages import Share
from loadtest.loadgen.open_loop import OpenLoop
from loadtest.loadgen.recorder import Recorder, new_recorder
from loadtest.loadgen.signals import quit_once, start_clock, take_run_time, watch_signals
from loadtest.loadgen.state import Test, listen, state_of
from loadtest.loadgen.user import EmbeddingUser
from loadtest.store.files import REPORT, run_dir_for
from loadtest.store.traces import TraceInfo, check_trace, read_trace
from loadtest.target.preflight import Preflight, preflight_for
from loadtest.target.url import parse_target, redact

log = logging.getLogger("embload")
_RUNNER_WAIT_S = 10.0  # for Locust to finish building a worker's runner (it waits on the master)


def scenario_user(name: str) -> type[EmbeddingUser]:
    """The User class of a shipped scenario; its user count becomes Locust's default `-u`."""
    scenario = SCENARIOS[name]

    def _defaults(parser: Any) -> None:
        parser.set_defaults(num_users=scenario.users, spawn_rate=scenario.users)

    listen(events.init_command_line_parser, _defaults)
    attrs = {"scenario": scenario, "__module__": __name__}
    return type(f"{name.capitalize()}User", (EmbeddingUser,), attrs)


def _user_class(environment: Environment) -> type[EmbeddingUser]:
    found = [c for c in environment.user_classes if issubclass(c, EmbeddingUser)]
    if len(found) != 1:
        raise SystemExit(
            "embload: a locustfile runs exactly one embload scenario; found "
            + (", ".join(sorted(c.scenario.name for c in found)) or "none")
        )
    return found[0]


def _preflight(host: str, settings: LoadSettings) -> Preflight:
    """The run's preflight: as `embload run` handed it over for this host, else done here (a
    plain `locust -f` run). A target not answering yet is a warning: the load records it."""
    handed = os.environ.get(Preflight.TRANSFER)
    with contextlib.suppress(ValueError):  # not one: found again, here
        found = Preflight.model_validate_json(handed or "")
        if found.target.url == host:
            return found
    target = parse_target(host, settings.dialect)
    try:
        # plain Locust records whatever comes back, the first reply too: no test request
        found = preflight_for(target, settings, request=False)
    except TargetUnreachable as exc:
        log.warning("embload: %s; sending the model name as given", exc.line)
        return Preflight.at(target, settings.model)
    if target.probe:
        log.info("embload: embeddings route %s (%s)", redact(found.target.url), found.dialect)
    return found


def _recorder(environment: Environment, settings: LoadSettings) -> Recorder:
    """The test's recorder: its scenario's pools drawn from the corpus, its preflight found
    (a worker has it from the master's options)."""
    scenario = _user_class(environment).scenario
    runner = environment.runner
    worker = "local"
    if isinstance(runner, WorkerRunner):
        worker = distributed.worker_name(runner.worker_index)
        handed = distributed.handed_preflight(environment)
        if handed is None:
            raise SystemExit(
                "embload: the master sent no preflight; run it on embload's locustfile"
            )
        found = handed
    else:
        assert environment.host is not None
        trace = _trace(environment, settings)  # before the preflight's request
        found = _preflight(environment.host, settings)
        return new_recorder(settings, scenario, found, worker, trace)
    return new_recorder(settings, scenario, found, worker)


def _trace(environment: Environment, settings: LoadSettings) -> TraceInfo | None:
    """The test's trace, as checked at start-up when it is the same file (a web UI's next test
    may name another: checked then, before its preflight's request)."""
    if settings.trace is None:
        return None
    known = state_of(environment).trace
    if known is not None and known.path == str(settings.trace):
        return known
    return check_trace(settings.trace)


def _open_loop(
    settings: LoadSettings, share: Share | None = None, worker: bool = False
) -> OpenLoop | None:
    """This process's part of an open loop or a trace: a worker's share (none for a worker that
    joined after the schedule was shared out), else the whole schedule, from now."""
    if settings.rate_rps is None and settings.trace is None:
        return None
    if worker and share is None:
        log.warning("embload: joined after the open loop was shared out: no arrivals this test")
        return OpenLoop(None)
    slot, of, start_at = (share.slot, share.of, share.start_at) if share else (0, 1, None)
    warm = WarmupCounter(parse_warmup(settings.warmup).share(slot, of), start_at or time.time())
    if settings.trace is not None:
        lines = TraceSchedule(read_trace(settings.trace), settings.trace_speed, slot, of)
        return OpenLoop(lines, start_at, warm)
    assert settings.rate_rps is not None
    plan = ArrivalPlan(settings.rate_rps, settings.arrival, settings.burstiness, slot, of)
    return OpenLoop(Schedule(plan, settings.seed), start_at, warm)


def _end_with_the_trace(environment: Environment, loop: OpenLoop, timeout_s: float) -> None:
    """A local runner's trace replay stops once every line was sent and answered (or the
    timeout passed): the trace is the test's length."""
    while not loop.ended:
        gevent.sleep(0.1)
    runner = environment.runner
    deadline = time.monotonic() + timeout_s
    while runner is not None and loop.idle < runner.user_count and time.monotonic() < deadline:
        gevent.sleep(0.02)
    quit_once(environment, "embload: the trace has ended, stopping")


def _on_test_start(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    if environment.host is None or opts is None:
        raise SystemExit(
            "embload: no --host given; pass the server, e.g. --host http://127.0.0.1:30000"
        )
    runner = environment.runner
    if runner is None and opts.worker:
        # A worker that joins a running test gets its spawn message while Locust still builds its
        # runner (WorkerRunner.__init__ waits for the master there): start once it is built.
        gevent.spawn(_once_the_runner_is_built, environment)
        return
    settings = settings_from(opts, LoadSettings)
    state = state_of(environment)
    try:
        recorder = _recorder(environment, settings)
    except EmbloadError as exc:
        raise SystemExit(f"embload: {exc.line}") from None
    EmbeddingUser.network_timeout = EmbeddingUser.connection_timeout = settings.timeout_s
    # What exists now (modules, corpus, Locust) lives all run: keep the collector off it, and
    # collect young objects less often (bench/RESULTS.md: more requests per core).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if isinstance(runner, WorkerRunner):
        share, state.share = state.share, None  # the master sends one for each test
        state.test = Test(recorder, _open_loop(settings, share, worker=True))
        recorder.next_user = max(0, runner.worker_index) * distributed.USERS_PER_WORKER
        # a closed loop's count is each worker's own: a worker does not know how many there are
        recorder.warmup_counter = WarmupCounter(parse_warmup(settings.warmup), time.time())
        recorder.begin_worker()
        gevent.spawn(
            flush_loop,
            environment,
            lambda n: distributed.send_batch(runner, recorder.batch(limit=n)),
        )
        return
    recorder.begin(run_dir_for(settings.out, settings.reports, recorder.scenario.name))
    test = state.test = Test(recorder)
    if environment.web_ui is not None:  # the tab shows this test from now on
        state.tab = web_tab.LiveTab()
        recorder.live = state.tab.figures
    if isinstance(runner, MasterRunner):
        recorder.started_at, shared = distributed.hand_out(
            runner, recorder.preflight, settings.rate_rps is not None or settings.trace is not None
        )
        state.gathering = Gathering(recorder, shared)
        test.ramp = gevent.getcurrent()  # test_start fires in runner.start
    else:
        recorder.started_at = time.time()
        recorder.warmup_counter = WarmupCounter(parse_warmup(settings.warmup), time.time())
        test.open_loop = _open_loop(settings)
        if test.open_loop is not None and settings.trace is not None:
            gevent.spawn(_end_with_the_trace, environment, test.open_loop, settings.timeout_s)
        gevent.spawn(flush_loop, environment, recorder.flush)
    if settings.checkpoint_every_s:
        test.checkpoints = _checkpoints(environment, test, settings.checkpoint_every_s)
    start_clock(environment, recorder.started_at, time.time())


def _checkpoints(environment: Environment, test: Test, every_s: float) -> Checkpoints:
    recorder = test.recorder
    assert recorder.run_dir is not None

    def run_end() -> RunEnd:
        opts = environment.parsed_options
        loop = test.open_loop
        return recorder.run_end(
            users=opts.num_users if opts else None,
            warnings=[PARTIAL],
            arrivals=loop.count if loop is not None else None,
        )

    return Checkpoints(every_s, str(recorder.run_dir), run_end)


def _once_the_runner_is_built(environment: Environment) -> None:
    deadline = time.monotonic() + _RUNNER_WAIT_S
    while environment.runner is None and time.monotonic() < deadline:
        gevent.sleep(0.01)
    _on_test_start(environment)


def _on_test_stopping(environment: Environment, **_: Any) -> None:
    """No arrival comes due once users start stopping: each one due was sent or dropped."""
    test = state_of(environment).test
    if test is None:
        return
    if test.open_loop is not None:
        test.open_loop.stop()
    ramp, test.ramp = test.ramp, None
    if isinstance(ramp, gevent.Greenlet) and ramp is not gevent.getcurrent() and not ramp.dead:
        # A master stopped mid-ramp (-t before -u/-r is reached) goes on sending spawn messages
        # (Locust 2.47 stops only a local runner's ramp): a worker that gets one after the
        # final batch starts a new test, whose requests Locust counts and no record holds.
        ramp.kill(block=False)


def _on_test_stop(environment: Environment, **_: Any) -> None:
    state = state_of(environment)
    test, state.test = state.test, None  # ends the flush loop
    if test is None:
        return
    recorder = test.recorder
    if test.checkpoints is not None:
        test.checkpoints.stop()
    arrivals = test.open_loop.count if test.open_loop is not None else None
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        distributed.send_final(runner, recorder.batch(final=True, arrivals=arrivals))
        return
    warnings: list[str] = []
    if isinstance(runner, MasterRunner):
        warnings, arrivals = distributed.await_workers(
            environment, runner, recorder.settings.rate_rps
        )
    for line in warnings:
        print(f"embload: warning: {line}", file=sys.stderr)
    opts = environment.parsed_options
    run_dir = recorder.run_dir
    assert run_dir is not None
    try:
        summary, columns = recorder.finish(
            users=opts.num_users if opts else None,
            warnings=warnings,
            arrivals=arrivals,
            interrupted=state.signal,
        )
    except OSError as exc:  # the disk is full: what was written stays
        print(f"embload: cannot write {run_dir}/summary.json: {exc}", file=sys.stderr)
        environment.process_exit_code = ExitCode.COULD_NOT_RUN
        return
    print(f"embload: wrote {run_dir} ({summary.requests} requests)", file=sys.stderr)
    if state.tab is not None:
        state.tab.stopped(summary)
    outcome = run_outcome([(run_dir, summary)])
    if outcome is not None:
        print(f"embload: {outcome.line}", file=sys.stderr)
        environment.process_exit_code = _exit_code(outcome, opts)
    elif summary.requests > summary.ok:  # failures an error-rate threshold allowed
        environment.process_exit_code = ExitCode.OK
    # else Locust's own rule stands: 0, or its code for an exception in a task
    try:
        from loadtest.output.html import write_report  # the report's imports: only now

        report = write_report(run_dir, summary, columns)
        print(f"embload: report {report}", file=sys.stderr)
    except Exception as exc:  # a report that fails must not take the run's files with it
        print(f"embload: report.html not written: {type(exc).__name__}: {exc}", file=sys.stderr)
    if state.tab is not None and (run_dir / REPORT).is_file():
        state.tab.report = run_dir / REPORT


def _exit_code(outcome: EmbloadError, opts: Any) -> int:
    """core/outcome.py's code, but Locust's own --exit-code-on-error where requests failed.
    A signal's 130 or 143 is Locust's already: it settles its code before it stops the test."""
    if isinstance(outcome, RequestsFailed) and opts is not None:
        return int(opts.exit_code_on_error)
    return outcome.exit_code


def _trace_first(environment: Environment) -> None:
    """A trace is checked line by line before anything else, the preflight's request included:
    a bad line ends plain Locust with its one line and exit 2, as it ends `embload run`."""
    opts = environment.parsed_options
    if opts is None or opts.worker or not getattr(opts, "embload_trace", None):
        return
    try:
        state_of(environment).trace = check_trace(settings_from(opts, LoadSettings).trace or Path())
    except EmbloadError as exc:
        print(f"embload: {exc.line}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def _on_init(environment: Environment, **_: Any) -> None:
    _trace_first(environment)
    take_run_time(environment)
    gevent.spawn(trim_per_second_counts, environment)
    watch_signals(environment)
    if environment.web_ui is not None:
        web_tab.install(environment.web_ui, lambda: state_of(environment).tab)
    distributed.register(environment)

    def spawned(user_count: int, **_: Any) -> None:  # Locust passes no environment here
        test = state_of(environment).test
        if test is not None:
            test.recorder.peak_users = max(test.recorder.peak_users, user_count)

    listen(environment.events.spawning_complete, spawned)


listen(events.init_command_line_parser, lambda parser: locust_arguments(parser, LoadSettings))
listen(events.init, _on_init)
listen(events.test_start, _on_test_start)
listen(events.test_stopping, _on_test_stopping)
listen(events.test_stop, _on_test_stop)
