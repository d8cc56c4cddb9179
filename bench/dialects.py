"""The load path per dialect: req/s of embload speaking each API, side by side on one core.

Four embload generators (scenario `single`, float vectors of 1,024 dims) run at the same time,
all pinned to core 0, against the fixed-reply server on core 1, which answers each route in
its own API's shape: OpenAI's `/v1/embeddings`, TEI's `/embed`, Ollama's `/api/embed`,
Cohere's `/v2/embed`. Sharing the core, each gets a quarter of it, so the ratio of their req/s
is the ratio of their CPU cost per request: each dialect against OpenAI's is what its request
building and reply check cost beyond it. `bench/meter.py` counts each one's replies over the
same window.

    python bench/dialects.py [--rounds 3] [--seconds 20] [--users 16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generator import (  # python puts this script's folder on sys.path
    WARMUP_S,
    fixed_reply_server,
    pinned,
)

HERE = Path(__file__).resolve().parent
ROUTES = {
    "openai": "/v1/embeddings",
    "tei": "/embed",
    "ollama": "/api/embed",
    "cohere": "/v2/embed",
}


def one_round(host: str, args: argparse.Namespace) -> dict[str, float]:
    """req/s of each dialect, all at once."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.time()
        procs = {}
        for dialect, route in ROUTES.items():
            out = Path(tmp, dialect)
            out.mkdir()
            users = str(args.users)
            cmd = [sys.executable, "-m", "locust", "-f"]
            cmd += [f"{HERE.parent / 'scenarios/single.py'},{HERE / 'meter.py'}", "--headless"]
            cmd += ["-u", users, "-r", users, "-t", f"{args.seconds}s", "--host", host + route]
            cmd += ["--only-summary", "--loglevel", "ERROR", "--embload-out", str(out / "run")]
            env = {
                **os.environ,
                "EMBLOAD_DIALECT": dialect,
                "EMBLOAD_MODEL": "fixed",
                "EMBLOAD_ENCODING_FORMAT": "float",
                "METER_OUT": str(out / "meter.json"),
                "METER_FROM": str(start + WARMUP_S),
                "METER_UNTIL": str(start + args.seconds - 1.0),
            }
            procs[dialect] = subprocess.Popen(
                pinned(cmd, 0), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        for proc in procs.values():
            proc.wait(timeout=args.seconds + 60)
        rates = {}
        for dialect in ROUTES:
            summary = json.loads(Path(tmp, dialect, "run", "summary.json").read_text())
            if summary["ok"] != summary["requests"] or summary["dialect"] != dialect:
                raise SystemExit(f"{dialect}: {summary['error_samples']}; the bench is invalid")
            meter = json.loads(Path(tmp, dialect, "meter.json").read_text())
            rates[dialect] = float(meter["req_per_s"])
        return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=16)
    args = parser.parse_args()
    ratios: dict[str, list[float]] = {d: [] for d in ROUTES}
    with fixed_reply_server() as host:
        for n in range(args.rounds):
            rates = one_round(host, args)
            for dialect, rate in rates.items():
                ratios[dialect].append(rate / rates["openai"])
            shown = ", ".join(f"{d} {r:,.0f}" for d, r in rates.items())
            print(f"round {n + 1}: req/s {shown}", flush=True)
    print(f"machine: {os.cpu_count()} cores; 4 generators pinned to core 0, server to core 1")
    for dialect, values in ratios.items():
        print(
            f"{dialect:>7} / openai req/s: {statistics.median(values):.3f} "
            f"[{min(values):.3f}-{max(values):.3f}]"
        )


if __name__ == "__main__":
    main()
