"""How long `embload --help` and `embload run --help` take, as a user starts them.

The CLI imports typer, rich and the settings models (pydantic) and nothing heavy: torch, locust,
numpy and matplotlib load only inside the commands that need them. Each figure is the whole
process, start to exit, over several runs.

    python bench/cli.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time


def wall_s(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    embload = os.path.join(os.path.dirname(sys.executable), "embload")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print("| command | wall s, median [min-max] of", args.repeat, "runs |")
    print("|---|---|")
    for command in (["--help"], ["run", "--help"], ["--version"]):
        wall_s([embload, *command])  # warm the file cache
        times = [wall_s([embload, *command]) for _ in range(args.repeat)]
        span = f"{statistics.median(times):.3f} [{min(times):.3f}-{max(times):.3f}]"
        print(f"| `embload {' '.join(command)}` | {span} |")


if __name__ == "__main__":
    main()
