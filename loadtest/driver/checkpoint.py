"""A long run's checkpoint, in a process of its own: summary.json and report.html from what the
run has written so far, so a soak that is interrupted or crashes keeps its figures.

The Locust process starts it (loadgen/checkpoint.py) with the run's end-so-far (RunEnd) on
stdin as JSON, and goes on with the load: converting an hour of records takes seconds of CPU
that the load generator's core cannot spare. The run's own end writes both files again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import TypeAdapter

from loadtest.analysis.summary import RunEnd, write_summary

RUN_END = TypeAdapter(RunEnd)


def main(argv: list[str] | None = None) -> int:
    run_dir = Path((argv or sys.argv[1:])[0])
    end = RUN_END.validate_json(sys.stdin.buffer.read())
    summary, columns = write_summary(run_dir, end)
    from loadtest.output.html import write_report  # the report's imports: only now

    write_report(run_dir, summary, columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
