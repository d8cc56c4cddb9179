from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.core.errors import Interrupted
from loadtest.driver.stopping import Stopper


def test_a_signal_with_no_load_running_stops_the_command_where_it_is() -> None:
    stopper = Stopper()
    with pytest.raises(Interrupted) as caught, stopper.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # let the handler run here
    assert caught.value.exit_code == 143 and caught.value.name == "SIGTERM"
    assert caught.value.line == "interrupted by SIGTERM before any load"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers given back


def test_the_first_signal_goes_to_the_load_and_a_second_kills_it(tmp_path: Path) -> None:
    stopper = Stopper()
    load = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    with pytest.raises(Interrupted) as caught, stopper.installed(), stopper.load(load, tmp_path):
        os.kill(os.getpid(), signal.SIGINT)
        assert load.wait(10) == -signal.SIGINT  # passed on; embload goes on waiting for it
        assert stopper.signum == signal.SIGINT
        stopper.check(tmp_path)  # between runs: nothing more starts
    assert caught.value.line == (
        f"interrupted by SIGINT: the load stopped; {tmp_path} holds the part that ran"
    )
    stubborn = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print(1)"
    sleeper = subprocess.Popen(  # a load that does not stop on the first signal
        [sys.executable, "-c", f"{stubborn}; time.sleep(60)"],
        start_new_session=True,
        stdout=subprocess.PIPE,
    )
    assert sleeper.stdout is not None and sleeper.stdout.readline()  # it ignores SIGINT now
    with pytest.raises(Interrupted) as again, stopper.installed(), stopper.load(sleeper, tmp_path):
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 0)
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 0)
    assert again.value.at_once and again.value.exit_code == 130
    assert sleeper.wait(10) == -signal.SIGKILL
    sleeper.stdout.close()
