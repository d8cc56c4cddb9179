"""A/A: `embload compare` of one server against itself, repeated. Nothing differs, so a
significant verdict is a false one; the issue asks for none in at least 9 of 10 repeats, and for
`--fail-on-regression 10%` to pass each time.

One bundled minilm server (CPU) serves both names; each repeat runs scenarios single and medium
for 6 s a side (ABBA: 3 s halves), as a user would type it.

    python bench/aa.py [--repeats 10] [--duration 6s] [--scenarios single,medium]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
EMBLOAD = [sys.executable, "-m", "loadtest.cli"]
QUIET = ("no significant difference", "no errors on either side", "too few")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--duration", default="6s")
    parser.add_argument("--scenarios", default="single,medium")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, Path(tmp, "server.log").open("wb") as log:
        server = subprocess.Popen([*EMBLOAD, "serve", "--port", str(port)], stdout=log, stderr=log)
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            url = f"http://127.0.0.1:{port}/v1"
            significant_repeats = 0
            for rep in range(1, args.repeats + 1):
                out = Path(tmp, f"cmp{rep}")
                cmd = [
                    *EMBLOAD,
                    "compare",
                    "a",
                    "b",
                    "--target",
                    f"a={url}",
                    "--target",
                    f"b={url}",
                ]
                cmd += ["--scenarios", args.scenarios, "--duration", args.duration, "--no-probe"]
                cmd += ["--seed", str(rep), "--fail-on-regression", "10%", "--out", str(out)]
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
                result = json.loads((out / "compare.json").read_text())
                found = [
                    f"{e['scenario']} {d['metric']}: {d['verdict']}"
                    for e in result["scenarios"]
                    for d in e["differences"]
                    if not d["verdict"].startswith(QUIET)
                ]
                windows = {
                    e["scenario"]: next(
                        d["verdict"] for d in e["differences"] if d["metric"] == "p50"
                    )
                    for e in result["scenarios"]
                }
                significant_repeats += bool(found)
                print(
                    f"repeat {rep}: exit {proc.returncode}; "
                    + ("; ".join(found) if found else "no significant verdict")
                    + f" (p50: {windows})",
                    flush=True,
                )
            print(f"repeats with any significant verdict: {significant_repeats} of {args.repeats}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
