"""How long `embload report` takes for runs of 10 thousand to 1 million requests.

Builds synthetic run directories (60 s, 64 users, GPU samples at 10 Hz, OOM events and a crash;
tests/support/synthetic.py) and times the whole command, as a user runs it, a few times each.

    python bench/report.py [--sizes 10000,100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.synthetic import write_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print("| requests | records.jsonl | report.html | `embload report` wall s (median [min-max]) |")
    print("|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(tmp) / "run"
            write_run(run_dir, n)
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "loadtest.cli", "report", str(run_dir)],
                    check=True,
                    capture_output=True,
                )
                times.append(time.perf_counter() - t0)
            records_mb = (run_dir / "records.jsonl").stat().st_size / 1e6
            report_kb = (run_dir / "report.html").stat().st_size / 1e3
            print(
                f"| {n:,} | {records_mb:,.0f} MB | {report_kb:,.0f} KB | "
                f"{statistics.median(times):.2f} [{min(times):.2f}-{max(times):.2f}] |",
                flush=True,
            )


if __name__ == "__main__":
    main()
