"""`python -m loadtest.report RUN_DIR`: render report.html in its own process.

The Locust side starts this at test stop: it may not import the report layer, and matplotlib
has no place in a load generator's memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from loadtest.report.html import write_report

if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m loadtest.report RUN_DIR")
    print(write_report(Path(sys.argv[1])))
