"""embload's one error hierarchy and its exit codes.

Every failure a user sees is an `EmbloadError`: one line (what failed, what to do) and the exit
code the command ends with. Subclasses exist where a caller must tell them apart (a target that
is not there from one that refuses the request; a saved run that is not one). The CLI turns
any of them into its line and its code in one place (cli/app.py `exits`); a Locust process
turns them into a line on stderr and `process_exit_code`.

The exit codes are the contract users script against: 0 all well, 1 some requests failed,
2 could not run, 3 a threshold crossed, 128 + the signal (130 SIGINT, 143 SIGTERM) when a
signal cut the run short.
"""

from __future__ import annotations

import signal
from enum import IntEnum
from pathlib import Path
from typing import Self

from loadtest.core.types import ErrorKind


class ExitCode(IntEnum):
    OK = 0
    REQUESTS_FAILED = 1
    COULD_NOT_RUN = 2
    THRESHOLD_CROSSED = 3


def signal_exit_code(signum: int) -> int:
    """As a shell reports a process a signal ended: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


class EmbloadError(Exception):
    """A failure the user reads as one line; `exit_code` ends the command."""

    exit_code: int = ExitCode.COULD_NOT_RUN

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line

    def prefixed(self, prefix: str) -> Self:
        """The same error, its line saying first where it happened (`bge: `)."""
        other = type(self).__new__(type(self))  # not copy.copy: that calls __init__ with the line
        other.__dict__.update(self.__dict__)
        other.line = f"{prefix}{self.line}"
        other.args = (other.line,)
        return other


class UsageError(EmbloadError):
    """What the user gave cannot be used: an option, a setting, a threshold, a corpus, a name."""


class SettingsError(UsageError):
    """A setting that cannot be used; the line names the layer it came from (flag, variable,
    embload.toml)."""


class ThresholdError(UsageError):
    """A threshold (`--fail-on`, `--slo`) that cannot be read: the line names it and the fix."""


class TraceError(UsageError):
    """A trace file that cannot be read or replayed: the line names the file, the line and the
    field (`trace.jsonl line 17: "tokens" must be ...`)."""


class TargetError(EmbloadError):
    """The target cannot take the load as asked."""


class TargetUnreachable(TargetError):
    """Nothing answered at the target: refused, unresolvable, or timed out."""


class PreflightFailed(TargetError):
    """The target answered, but the load could only fail as asked for (route, key, model)."""


class EmbeddingFailed(TargetError):
    """A request off the load path whose reply did not pass the check; `kind` says how."""

    def __init__(self, kind: ErrorKind, line: str) -> None:
        super().__init__(line)
        self.kind = kind


class ServeError(EmbloadError):
    """The bundled server could not start."""


class GpuUnavailable(EmbloadError):
    """No GPU telemetry: no driver, no device, or no NVML binding; the line says which."""


class StoreError(EmbloadError):
    """The run directory or the run index cannot be read or written as asked."""


class NotARun(StoreError):
    """A directory without a readable summary.json (or records) of this embload version."""


class NotWritable(StoreError):
    """A directory that runs cannot be written to."""


class HistoryError(StoreError):
    """The run index cannot be read or written."""


class RequestsFailed(EmbloadError):
    """The run completed, but some requests failed (and no error-rate threshold allowed it)."""

    exit_code = ExitCode.REQUESTS_FAILED


class ThresholdCrossed(EmbloadError):
    """A `--fail-on` threshold was crossed."""

    exit_code = ExitCode.THRESHOLD_CROSSED


class Regressed(EmbloadError):
    """`embload compare --fail-on-regression`: B is significantly worse than A beyond it."""

    exit_code = ExitCode.REQUESTS_FAILED


class Interrupted(EmbloadError):
    """SIGINT or SIGTERM stopped the command; `where` holds what the stopped run kept."""

    def __init__(self, signum: int, where: Path | None = None, at_once: bool = False) -> None:
        self.signum, self.where, self.at_once = signum, where, at_once
        super().__init__(self._line())
        self.exit_code = signal_exit_code(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    def _line(self) -> str:
        if self.at_once:
            kept = f"; what was on disk is in {self.where}" if self.where else ""
            return f"interrupted by a second {self.name}: stopped at once{kept}"
        if self.where is None:
            return f"interrupted by {self.name} before any load"
        return f"interrupted by {self.name}: the load stopped; {self.where} holds the part that ran"
