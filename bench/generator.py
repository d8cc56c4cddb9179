"""Generator overhead: req/s of embload's load path vs a bare FastHttpUser, on one pinned core.

Three generators run at the same time, pinned to the same core, against one fixed-reply server
pinned to the other core. Sharing the core, each gets a third of it, so the ratio of their
req/s is the ratio of their CPU cost per request, and the machine's drift (large on shared
VMs) hits all alike. `bench/meter.py` counts each side's replies over the same wall-clock
window, after all have started, and its CPU time per request.

- embload: the real thing: scenario `single` with payload sampling, the full reply check
  (JSON parse, count, dimension, finiteness) and a record per request streamed to disk.
- bare: a FastHttpUser that posts the same request with `self.client.post` and does nothing
  with the reply. embload / bare is the figure the spine issue asks for (>= 0.8, goal 0.9).
- transport: the same request over geventhttpclient's HTTPClient, the layer embload's user
  sends through, without checks or records: embload / transport is what they cost.

- earlier (with `--against DIR`): another checkout's embload (a git worktree of an earlier
  commit), the same scenario, its code first on PYTHONPATH: embload / earlier is the change's
  cost per request, measured side by side in each round.

    python bench/generator.py [--rounds 5] [--seconds 20] [--users 64] [--encoding both]
    python bench/generator.py --against /tmp/before    # git worktree add /tmp/before COMMIT
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARMUP_S = 6.0  # both processes import, start 64 users and connect within this


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if (os.cpu_count() or 1) > 1 else cmd


@contextlib.contextmanager
def fixed_reply_server() -> Iterator[str]:
    """bench/fixed_reply_server.py pinned to core 1 on a free loopback port, given two seconds
    to start: its http://127.0.0.1:PORT. Stopped when the block ends."""
    port = free_port()
    server = subprocess.Popen(
        pinned([sys.executable, str(HERE / "fixed_reply_server.py"), str(port)], 1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def locust_cmd(locustfile: Path, host: str, args: argparse.Namespace, tmp: str) -> list[str]:
    users = str(args.users)
    return [
        *[sys.executable, "-m", "locust", "-f", f"{locustfile},{HERE / 'meter.py'}"],
        *["--headless", "-u", users, "-r", users, "-t", f"{args.seconds}s", "--host", host],
        *["--only-summary", "--csv", f"{tmp}/stats", "--loglevel", "ERROR"],
    ]


def side_by_side(host: str, args: argparse.Namespace, encoding: str) -> dict[str, dict[str, float]]:
    """One round: both generators at once on core 0; each one's meter figures."""
    sides = {
        "embload": ROOT / "scenarios/single.py",
        "bare": HERE / "bare_locustfile.py",
        "transport": HERE / "bare_httpclient_locustfile.py",
    }
    if args.against is not None:
        sides["earlier"] = args.against / "scenarios/single.py"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.time()
        procs = {}
        for name, locustfile in sides.items():
            os.mkdir(f"{tmp}/{name}")
            cmd = locust_cmd(locustfile, host, args, f"{tmp}/{name}")
            if name in ("embload", "earlier"):
                cmd += ["--embload-out", f"{tmp}/run-{name}"]
            env = {
                **os.environ,
                "EMBLOAD_ENCODING_FORMAT": encoding,
                "METER_OUT": f"{tmp}/{name}/meter.json",
                "METER_FROM": str(start + WARMUP_S),
                "METER_UNTIL": str(start + args.seconds - 1.0),
            }
            if name == "earlier":  # its own loadtest package, ahead of the installed one
                env["PYTHONPATH"] = f"{args.against}{os.pathsep}{env.get('PYTHONPATH', '')}"
            procs[name] = subprocess.Popen(
                pinned(cmd, 0),
                cwd=f"{tmp}/{name}",
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for proc in procs.values():
            proc.wait(timeout=args.seconds + 60)
        figures = {}
        for name in sides:
            with open(f"{tmp}/{name}/stats_stats.csv") as f:
                failures = f.read().splitlines()[-1].split(",")[3]
            if int(failures):
                raise SystemExit(f"{name}: {failures} failures; the bench is invalid")
            figures[name] = dict(json.loads(Path(f"{tmp}/{name}/meter.json").read_text()))
        for name in ("embload", "earlier") if args.against else ("embload",):
            records = len(Path(tmp, f"run-{name}", "records.jsonl").read_bytes().splitlines())
            if records < figures[name]["requests"]:
                raise SystemExit(f"records.jsonl has {records} lines; the {name} side lost some")
        return figures


def span(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


def compare(host: str, args: argparse.Namespace, encoding: str) -> None:
    print(f"\nencoding_format={encoding}")
    print(
        "| round | embload req/s | bare FastHttpUser req/s | bare HTTPClient req/s "
        "| embload / bare | embload / HTTPClient | CPU µs/req: embload, bare, HTTPClient |"
    )
    print("|---|---|---|---|---|---|---|")
    ratios, costs, changes = [], [], []
    for n in range(args.rounds):
        f = side_by_side(host, args, encoding)
        a, b, c = f["embload"], f["bare"], f["transport"]
        ratios.append(a["req_per_s"] / b["req_per_s"])
        costs.append(a["req_per_s"] / c["req_per_s"])
        earlier = ""
        if "earlier" in f:
            changes.append(a["req_per_s"] / f["earlier"]["req_per_s"])
            e = f["earlier"]
            earlier = f" earlier: {e['req_per_s']:,.0f} req/s, {e['cpu_us_per_req']:.0f} µs/req,"
            earlier += f" embload / earlier {changes[-1]:.3f} |"
        print(
            f"| {n + 1} | {a['req_per_s']:,.0f} | {b['req_per_s']:,.0f} | {c['req_per_s']:,.0f} "
            f"| {ratios[-1]:.3f} | {costs[-1]:.3f} | {a['cpu_us_per_req']:.0f}, "
            f"{b['cpu_us_per_req']:.0f}, {c['cpu_us_per_req']:.0f} |{earlier}",
            flush=True,
        )
    print(f"embload / bare FastHttpUser, req/s, median [min-max]: {span(ratios, '.3f')}")
    print(f"embload / bare HTTPClient (cost of checks and records): {span(costs, '.3f')}")
    if changes:
        print(f"embload / earlier ({args.against}), req/s: {span(changes, '.3f')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument(
        "--encoding",
        choices=["base64", "float", "both"],
        default="both",
        help="encoding_format both sides ask for (base64 is embload's default)",
    )
    parser.add_argument(
        "--against", type=Path, help="another checkout of embload to run beside this one"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.users} users a side, {args.seconds} s "
        f"per round, {args.rounds} rounds"
    )
    with fixed_reply_server() as host:
        encodings = ["base64", "float"] if args.encoding == "both" else [args.encoding]
        for encoding in encodings:
            compare(host, args, encoding)


if __name__ == "__main__":
    main()
