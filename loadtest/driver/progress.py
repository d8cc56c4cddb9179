"""The live status line of `embload run`: read from the records Locust appends, the same file
the summary is computed from."""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

import orjson
from rich.text import Text

from loadtest.core.stats import latency_ms
from loadtest.store.files import RECORDS


class Progress:
    """Reads the records Locust appends and renders one live status line."""

    def __init__(self, scenario: str, run_dir: Path, duration_s: float) -> None:
        self.scenario, self.path, self.duration_s = scenario, run_dir / RECORDS, duration_s
        self.started = time.monotonic()
        self.requests = self.errors = 0
        self._file: IO[bytes] | None = None
        self._partial = b""
        self._recent: list[tuple[float, float]] = []  # (start_time, latency_s) of recent successes

    def poll(self) -> None:
        if self._file is None:
            if not self.path.exists():
                return
            self._file = self.path.open("rb")
        chunk = self._partial + self._file.read()
        *lines, self._partial = chunk.split(b"\n")
        for line in lines:
            row = orjson.loads(line)
            self.requests += 1
            if row["error"]:
                self.errors += 1
            else:
                self._recent.append((row["start_time"], row["latency_s"]))
        if self._recent:
            horizon = self._recent[-1][0] - 5.0
            self._recent = [r for r in self._recent if r[0] >= horizon]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def render(self, now: float | None = None) -> Text:
        elapsed = min((now or time.monotonic()) - self.started, self.duration_s)
        done = int(20 * elapsed / self.duration_s)
        lat = latency_ms([r[1] for r in self._recent])
        figures = "waiting for the first replies"
        if lat.p50 is not None and lat.p99 is not None:
            figures = f"P50 {lat.p50:.1f} ms  P99 {lat.p99:.1f} ms (last 5 s)"
        return Text.assemble(
            (f"{self.scenario:<7}", "bold"),
            " ",
            ("━" * done, "green"),
            ("━" * (20 - done), "grey37"),
            f" {elapsed:4.0f}/{self.duration_s:.0f} s  {self.requests:,} req  ",
            (f"{self.errors:,} errors", "red" if self.errors else "green"),
            f"  {figures}",
        )
