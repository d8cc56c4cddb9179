"""Records leave the users' buffer 20 times a second: written (a local or master runner) or
sent to the master (a worker), a piece at a time, so an open loop's arrivals never wait behind
one long write (bench/open_loop.py measured the send lag of each way: bench/RESULTS.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import gevent
from locust.env import Environment

from loadtest.loadgen.recorder import Recorder
from loadtest.loadgen.state import state_of
from loadtest.loadgen.trim import trim_stats

FLUSH_INTERVAL_S = 0.05
_PIECE_ROWS = 64  # records written or sent between two yields to the other greenlets
_TRIM_EVERY_S = 30.0


def flush_loop(environment: Environment, flush: Callable[[int], object]) -> None:
    """Every 50 ms until the test's recorder is gone: write (local) or send (worker) what the
    users buffered, a piece at a time with a yield between pieces."""
    state = state_of(environment)
    test = state.test
    assert test is not None
    recorder = test.recorder
    while state.test is test:
        gevent.sleep(FLUSH_INTERVAL_S)
        pieces = -(-len(recorder.buffer) // _PIECE_ROWS)  # those buffered now, no more
        for _ in range(pieces):
            if state.test is not test:
                break  # test_stop sends the rest
            flush(_PIECE_ROWS)
            gevent.sleep(0)
        stop_if_unwritable(environment, recorder)


def trim_per_second_counts(environment: Environment) -> None:
    """Every 30 s while the process lives: each stats entry's per-second counts older than a
    minute dropped, so a day-long test holds a minute of them, as an hour's test does."""
    while True:
        gevent.sleep(_TRIM_EVERY_S)
        if environment.stats is not None:
            trim_stats(environment.stats, time.time())


def stop_if_unwritable(environment: Environment, recorder: Recorder) -> None:
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
