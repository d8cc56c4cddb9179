"""Generator overhead: req/s of embload's load path vs a bare FastHttpUser, on one pinned core.

Both run against the same fixed-reply server (pinned to another core), alternately, in one
invocation: ratios are taken pair by pair, so drift in the machine's speed cancels out.
The embload side is the real thing: scenario `single` with payload sampling, the full reply
check (JSON parse, count, dimension, finiteness) and a record per request streamed to disk.

    python bench/generator.py [--rounds 3] [--seconds 10] [--users 64]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if os.cpu_count() and os.cpu_count() > 1 else cmd  # type: ignore[operator]


def locust_rps(locustfile: Path, host: str, users: int, seconds: int, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            host,
            "--only-summary",
            "--csv",
            f"{tmp}/stats",
            "--loglevel",
            "ERROR",
            *extra,
        ]
        subprocess.run(
            pinned(cmd, 0), cwd=tmp, check=False, capture_output=True, timeout=seconds + 60
        )
        with open(f"{tmp}/stats_stats.csv", newline="") as f:
            rows = {row["Name"]: row for row in csv.DictReader(f)}
        agg = rows["Aggregated"]
        if int(agg["Failure Count"]):
            raise SystemExit(
                f"{locustfile.name}: {agg['Failure Count']} failures; the bench is invalid"
            )
        return float(agg["Requests/s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=64)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        pinned([sys.executable, str(HERE / "fixed_reply_server.py"), str(port)], 1)
    )
    try:
        time.sleep(2.0)
        host = f"http://127.0.0.1:{port}"
        embload, bare, ratios = [], [], []
        for n in range(args.rounds):
            with tempfile.TemporaryDirectory() as out:
                a = locust_rps(
                    ROOT / "scenarios/single.py",
                    host,
                    args.users,
                    args.seconds,
                    ["--embload-out", out],
                )
                lines = len(Path(out, "records.jsonl").read_bytes().splitlines())
            b = locust_rps(HERE / "bare_locustfile.py", host, args.users, args.seconds, [])
            embload.append(a)
            bare.append(b)
            ratios.append(a / b)
            print(
                f"round {n + 1}: embload {a:,.0f} req/s ({lines:,} records), bare {b:,.0f} req/s, "
                f"ratio {a / b:.3f}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)
    print()
    print(
        f"| machine | {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()} |"
    )
    print(f"| users, seconds per run, rounds | {args.users}, {args.seconds}, {args.rounds} |")
    print(
        f"| embload load path, req/s (median [min-max]) | {statistics.median(embload):,.0f} "
        f"[{min(embload):,.0f}-{max(embload):,.0f}] |"
    )
    print(
        f"| bare FastHttpUser, req/s | {statistics.median(bare):,.0f} "
        f"[{min(bare):,.0f}-{max(bare):,.0f}] |"
    )
    print(
        f"| ratio embload / bare, pair by pair, median [min-max] | {statistics.median(ratios):.3f} "
        f"[{min(ratios):.3f}-{max(ratios):.3f}] |"
    )


if __name__ == "__main__":
    main()
