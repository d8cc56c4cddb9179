"""A Locust plugin for the generator benchmark: requests and CPU time inside a fixed window.

Loaded next to either locustfile (`-f a.py,bench/meter.py`), so both sides pay the same small
listener. The window is given in wall-clock seconds (`METER_FROM`, `METER_UNTIL`), so two
generators running side by side are measured over the same interval, after both have started;
the figures go to the JSON file `METER_OUT`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from locust import events

_FROM = float(os.environ.get("METER_FROM", "0"))
_UNTIL = float(os.environ.get("METER_UNTIL", "inf"))
_CPU_EVERY = 256  # process_time is a system call: read it every so many requests


class _Meter:
    n = 0  # replies inside the window
    cpu_start = 0.0  # process CPU seconds at the first reply inside the window
    cpu_n = 0  # replies at the last CPU reading, and that reading
    cpu_last = 0.0


_m = _Meter()


@events.request.add_listener
def _on_request(**_: Any) -> None:
    now = time.time()
    if not _FROM <= now < _UNTIL:
        return
    if not _m.n:
        _m.cpu_start = time.process_time()
    _m.n += 1
    if _m.n % _CPU_EVERY == 0:
        _m.cpu_n, _m.cpu_last = _m.n, time.process_time()


@events.test_stop.add_listener
def _on_stop(**_: Any) -> None:
    out = os.environ.get("METER_OUT")
    if not out or not _m.cpu_n:
        return
    figures = {
        "requests": _m.n,
        "req_per_s": _m.n / (_UNTIL - _FROM),
        "cpu_us_per_req": (_m.cpu_last - _m.cpu_start) / _m.cpu_n * 1e6,
    }
    with open(out, "w") as f:
        json.dump(figures, f)
