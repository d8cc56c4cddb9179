"""Open-loop generator: req/s per core against the closed loop's, and send lag at half a core.

The fixed-reply server (bench/fixed_reply_server.py) runs on core 1; each generator run is
plain `locust -f scenarios/single.py` (the generator alone: no `embload run` parent polling
records for its progress line on the same core) pinned to core 0, one at a time, alternating:

- closed: 64 users back to back: what one core sends at most.
- open, saturated: `--embload-rate` at twice the closed loop's figure, 64 users in flight: the
  generator is the bottleneck, so what gets through is what the open loop sends per core.
- open, half: `--embload-rate` at half the closed loop's figure: the send lag (due to send) it
  keeps when the core has room, the figure the issue bounds (P99 < 2 ms).

Per core is measured both ways: req/s with the generator pinned to one core, and CPU seconds
of the generator's processes per 1,000 requests (getrusage of the children).

    python bench/open_loop.py [--rounds 3] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from generator import fixed_reply_server, pinned  # python puts this script's folder on sys.path
from processes import children_cpu_s

HERE = Path(__file__).resolve().parent


def one_run(host: str, seconds: int, load: list[str], out: Path) -> dict[str, float]:
    cpu0 = children_cpu_s()
    cmd = [sys.executable, "-m", "locust", "-f", str(HERE.parent / "scenarios/single.py")]
    cmd += ["--headless", "-t", f"{seconds}s", "--host", host, "--only-summary"]
    cmd += ["--loglevel", "WARNING", "--embload-out", str(out), *load]
    proc = subprocess.run(pinned(cmd, 0), capture_output=True, text=True, timeout=seconds + 120)
    cpu_s = children_cpu_s() - cpu0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"run failed ({proc.returncode}): {proc.stderr[-1000:]}")
    s = json.loads((out / "summary.json").read_text())
    load_block = s["load"]
    return {
        "rps": load_block["achieved_rps"],
        "cpu_ms_per_req": 1000 * cpu_s / max(s["requests"], 1),
        "lag_p50_ms": load_block["send_lag_p50_ms"] or 0.0,
        "lag_p99_ms": load_block["send_lag_p99_ms"] or 0.0,
        "late": load_block["late"],
        "dropped": load_block["dropped"],
        "requests": s["requests"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"closed": [], "open_saturated": [], "open_half": []}
    with fixed_reply_server() as target, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            users = ["-u", "64", "-r", "64"]
            closed = one_run(target, args.seconds, users, Path(tmp, f"c{r}"))
            rows["closed"].append(closed)
            cap = closed["rps"]
            saturated = [*users, "--embload-rate", f"{2 * cap:.0f}"]
            rows["open_saturated"].append(
                one_run(target, args.seconds, saturated, Path(tmp, f"s{r}"))
            )
            half = [*users, "--embload-rate", f"{cap / 2:.0f}"]
            rows["open_half"].append(one_run(target, args.seconds, half, Path(tmp, f"h{r}")))
            print(json.dumps({k: v[-1] for k, v in rows.items()}), flush=True)
    med = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in rows.items()}
    ratio = med["open_saturated"]["rps"] / med["closed"]["rps"]
    cpu_ratio = med["closed"]["cpu_ms_per_req"] / med["open_saturated"]["cpu_ms_per_req"]
    print(f"machine: {os.cpu_count()} cores; generator pinned to core 0, server to core 1")
    for name, m in med.items():
        print(
            f"{name:>15}: {m['rps']:8.0f} req/s  {m['cpu_ms_per_req']:.3f} CPU ms/req  "
            f"lag P50 {m['lag_p50_ms']:.2f} ms P99 {m['lag_p99_ms']:.2f} ms  "
            f"late {m['late']:.0f} dropped {m['dropped']:.0f}"
        )
    print(f"open / closed req/s per core: {ratio:.2f} (CPU per request: {cpu_ratio:.2f})")
    rounds = ", ".join(f"{r['lag_p99_ms']:.2f}" for r in rows["open_half"])
    print(
        f"send lag P99 at half the closed loop's rate: {med['open_half']['lag_p99_ms']:.2f} ms"
        f" (rounds: {rounds})"
    )


if __name__ == "__main__":
    main()
