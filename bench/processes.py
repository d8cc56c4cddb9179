"""Generator scaling: req/s of `locust --processes P` against the fixed-reply server, P = 1, 2.

Runs alternate (1, 2, 1, 2, ...) so the machine's drift hits both alike. Each run is plain
`locust -f scenarios/single.py -u 64 --processes P` for `--seconds`, unpinned, the fixed-reply
server (bench/fixed_reply_server.py) on the same machine; req/s is Locust's own count over the
run time, and every run is checked exact: records == Locust's count == summary.requests.
Generator CPU seconds per 1,000 requests tell the cost apart from what the server leaves free.

    python bench/processes.py [--rounds 3] [--seconds 15] [--users 64]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
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


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(host: str, processes: int, args: argparse.Namespace) -> tuple[float, float, int]:
    """(req/s, generator CPU s per 1,000 requests, records) of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/single.py")]
        cmd += ["--headless", "-u", str(args.users), "-r", str(args.users)]
        cmd += ["-t", f"{args.seconds}s", "--host", host, "--only-summary", "--loglevel", "ERROR"]
        cmd += ["--processes", str(processes), "--csv", f"{tmp}/locust"]
        cmd += ["--embload-out", f"{tmp}/run"]
        cpu0 = children_cpu_s()
        subprocess.run(cmd, cwd=tmp, check=True, stdout=subprocess.DEVNULL, timeout=300)
        cpu_s = children_cpu_s() - cpu0
        with open(f"{tmp}/locust_stats.csv") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        count = int(row["Request Count"])
        records = len(Path(tmp, "run", "records.jsonl").read_bytes().splitlines())
        summary = json.loads(Path(tmp, "run", "summary.json").read_text())
        if not records == count == summary["requests"] or int(row["Failure Count"]):
            raise SystemExit(
                f"P={processes}: records {records}, Locust {count}, summary {summary['requests']}"
            )
        return count / args.seconds, 1000 * cpu_s / count, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=64)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fixed_reply_server.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)
    host = f"http://127.0.0.1:{port}"
    rates: dict[int, list[float]] = {1: [], 2: []}
    costs: dict[int, list[float]] = {1: [], 2: []}
    try:
        for rnd in range(1, args.rounds + 1):
            for processes in (1, 2):
                rps, cost, records = one_run(host, processes, args)
                rates[processes].append(rps)
                costs[processes].append(cost)
                print(
                    f"round {rnd} P={processes}: {rps:,.0f} req/s, {cost:.2f} CPU s per 1k req, "
                    f"{records:,} records == Locust's count == summary.requests",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(10)
    ratios = [b / a for a, b in zip(rates[1], rates[2], strict=True)]
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    per_round = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"median req/s: P=1 {one:,.0f}, P=2 {two:,.0f}")
    print(f"P=2 / P=1 per round: {per_round} (median {statistics.median(ratios):.2f})")


if __name__ == "__main__":
    main()
