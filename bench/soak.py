"""Long runs: embload's RSS over a soak, trace replay's send lag, the leak verdict's false alarms.

The fixed-reply server (bench/fixed_reply_server.py) runs on core 1, a fresh one per phase;
each generator run is plain `locust -f scenarios/single.py` pinned to core 0, 64 users at most
in flight (`-u 64 -r 64`), run directories kept under `--out`.

1. trace: a 60 s trace at a constant 1,000 req/s and a poisson one (`embload trace synth`),
   replayed with `--embload-trace` (`--embload-warmup 5s`), alternating, `--trace-rounds`
   each: send lag P50/P99/max after the warm-up (summary.json's `load`) and over every request
   (records.jsonl's send_lag_s), late (> 10 ms) and dropped.
2. soak: one open-loop run of `--minutes` at `--rate` (`--embload-rate`, poisson arrivals),
   `--embload-warmup 30s`, `--embload-server-pid` on the server: the Locust process's RSS from
   loadgen.jsonl (at start, after warm-up, at the end of the load, its growth) and the run's
   own `stability` fits, rate, send lag (and its P99 per 5 minutes), late and dropped.
3. false alarms: the soak's flat series (the server's RSS from process.jsonl, embload's from
   loadgen.jsonl) cut into consecutive pieces of 2 and 5 minutes after warm-up, each fitted
   with loadtest.core.stability.growth_fit; and `--synthetic` seeded flat series of 2, 5 and
   30 minutes shaped like a Python process's RSS: a warm-up bump that settles within the 30 s
   left out, an allocator sawtooth (period 5 s to 10 min, log-uniform; 0.25 to 8 MiB), 1 MiB
   arenas taken and given back, gaussian noise, page-rounded. How many come out
   leak_suspected, k of n; the same series plus a 50 MiB/h leak give the verdict's power.

    python bench/soak.py [--minutes 30] [--rate 1000] [--trace-rounds 3] [--synthetic 1000]
    python bench/soak.py --skip-soak          # the replay and the synthetic series only
    python bench/soak.py --analyze RUN_DIR    # a finished soak's figures and phase 3 again
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from generator import free_port, pinned  # python puts this script's folder on sys.path

from loadtest.core.stability import GrowthFit, Series, growth_fit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIB = 1024 * 1024
HOUR_S = 3600.0
TRACE_WARMUP_S = 5
PIECES_S = (120, 300)
SYNTHETIC_SPANS_S = (120, 300, 1800)
SYNTHETIC_WARMUP_S = 30.0
CONTROL_LEAK_MIB_H = 50.0


@contextlib.contextmanager
def fixed_reply_server() -> Iterator[tuple[str, int]]:
    """bench/fixed_reply_server.py pinned to core 1 on a free loopback port, given two seconds
    to start: its URL and PID (taskset execs, so the PID is the server's). Stopped at the end."""
    port = free_port()
    server = subprocess.Popen(
        pinned([sys.executable, str(HERE / "fixed_reply_server.py"), str(port)], 1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2.0)
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        server.terminate()
        server.wait(10)


def locust(host: str, seconds: float, out: Path, extra: list[str]) -> dict[str, Any]:
    """One plain Locust run of scenario `single` pinned to core 0: its summary.json."""
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios/single.py")]
    cmd += ["--headless", "-t", f"{seconds:.0f}s", "--host", host, "--only-summary"]
    cmd += ["--loglevel", "WARNING", "--embload-out", str(out), "-u", "64", "-r", "64", *extra]
    proc = subprocess.run(
        pinned(cmd, 0), capture_output=True, text=True, timeout=seconds + 900, cwd=ROOT
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"locust failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


# --- 1. trace replay ---------------------------------------------------------------------------


def synth(shape: str, rate: float, seconds: int, out: Path) -> None:
    cmd = [sys.executable, "-m", "loadtest.cli", "trace", "synth", "--shape", shape]
    cmd += ["--rate", f"{rate:g}", "--duration", f"{seconds}s", "--scenario", "single"]
    subprocess.run([*cmd, "--out", str(out)], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def replay(host: str, trace: Path, seconds: int, out: Path) -> dict[str, float]:
    extra = ["--embload-trace", str(trace), "--embload-warmup", f"{TRACE_WARMUP_S}s"]
    s = locust(host, seconds + 30, out, extra)
    load = s["load"]
    lags = np.array(
        [r["send_lag_s"] for r in jsonl(out / "records.jsonl") if r["send_lag_s"] is not None]
    )
    lines = sum(1 for _ in trace.open())
    return {
        "lag_p50_ms": load["send_lag_p50_ms"],
        "lag_p99_ms": load["send_lag_p99_ms"],
        "lag_max_ms": load["send_lag_max_ms"],
        "all_p99_ms": float(np.percentile(lags, 99) * 1000),
        "all_max_ms": float(lags.max() * 1000),
        "rps": load["achieved_rps"],
        "late": load["late"],
        "dropped": load["dropped"],
        "replayed": s["trace"]["replayed"],
        "lines": lines,
    }


def trace_phase(args: argparse.Namespace, out: Path) -> None:
    traces = {}
    for shape in ("constant", "poisson"):
        traces[shape] = out / f"trace-{shape}.jsonl"
        synth(shape, args.rate, args.trace_seconds, traces[shape])
    rows: dict[str, list[dict[str, float]]] = {shape: [] for shape in traces}
    print(
        f"\n## trace replay: {args.trace_seconds} s at {args.rate:g} req/s, generator on core 0, "
        f"send lag after a {TRACE_WARMUP_S} s warm-up (and over every request)"
    )
    print("| round | shape | lag P50 ms | lag P99 ms | lag max ms | all: P99, max ms | req/s "
          "| late | dropped | replayed / lines |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    with fixed_reply_server() as (host, _):
        for r in range(args.trace_rounds):
            for shape, trace in traces.items():
                m = replay(host, trace, args.trace_seconds, out / f"trace-{shape}-{r + 1}")
                rows[shape].append(m)
                print(
                    f"| {r + 1} | {shape} | {m['lag_p50_ms']:.3f} | {m['lag_p99_ms']:.3f} "
                    f"| {m['lag_max_ms']:.1f} | {m['all_p99_ms']:.3f}, {m['all_max_ms']:.1f} "
                    f"| {m['rps']:,.0f} | {m['late']:.0f} | {m['dropped']:.0f} "
                    f"| {m['replayed']:.0f} / {m['lines']:.0f} |",
                    flush=True,
                )
    for shape, ms in rows.items():
        med = {k: statistics.median(m[k] for m in ms) for k in ("lag_p50_ms", "lag_p99_ms")}
        print(
            f"{shape}: median of {len(ms)} rounds: lag P50 {med['lag_p50_ms']:.3f} ms, "
            f"P99 {med['lag_p99_ms']:.3f} ms; max over rounds "
            f"{max(m['lag_max_ms'] for m in ms):.1f} ms",
            flush=True,
        )


# --- 2. soak -----------------------------------------------------------------------------------


def soak_phase(args: argparse.Namespace, out: Path) -> Path:
    run = out / "soak"
    extra = ["--embload-rate", f"{args.rate:g}", "--embload-warmup", args.warmup]
    with fixed_reply_server() as (host, pid):
        extra += ["--embload-server-pid", str(pid)]
        print(f"\n## soak: {args.minutes} min at {args.rate:g} req/s into {run}", flush=True)
        t0 = time.monotonic()
        locust(host, args.minutes * 60, run, extra)
        print(f"soak took {time.monotonic() - t0:.0f} s (load and summary)", flush=True)
    return run


def mib_h(fit: dict[str, Any]) -> str:
    if fit["per_hour_bytes"] is None:
        return "-"
    return (
        f"{fit['per_hour_bytes'] / MIB:+.2f} MiB/h [{fit['per_hour_low_bytes'] / MIB:+.2f}, "
        f"{fit['per_hour_high_bytes'] / MIB:+.2f}]"
    )


def soak_report(run: Path) -> None:
    s = json.loads((run / "summary.json").read_text())
    own = jsonl(run / "loadgen.jsonl")
    t = np.array([x["time"] for x in own])
    rss = np.array([x["rss_bytes"] for x in own], dtype=float)
    warm = float(s["stability"]["warmup_end_s"])
    end = warm + float(s["duration_s"])  # duration_s counts from the warm-up's end
    during = t <= end + 1.0
    after = rss[(t >= warm) & during]
    print(f"\n## soak figures ({run})")
    print(f"requests after warm-up: {s['requests']:,}; run {s['duration_s']:.0f} s after warm-up")
    print(
        f"embload RSS: start {rss[0] / MIB:.1f} MiB, after warm-up {after[0] / MIB:.1f} MiB, "
        f"end of load {after[-1] / MIB:.1f} MiB; growth after warm-up "
        f"{(after[-1] - after[0]) / MIB:+.1f} MiB (from start {(after[-1] - rss[0]) / MIB:+.1f}"
        f"); max during load {rss[during].max() / MIB:.1f} MiB, in the file "
        f"{rss.max() / MIB:.1f} MiB ({int(during.sum())} of {len(rss)} samples during load)"
    )
    floors = after[: len(after) // 10], after[-len(after) // 10 :]
    print(
        f"embload RSS, min of first and last tenth after warm-up: {floors[0].min() / MIB:.1f} "
        f"-> {floors[1].min() / MIB:.1f} MiB"
    )
    srv = jsonl(run / "process.jsonl")
    srss = np.array([x["rss_bytes"] for x in srv if warm <= x["time"] <= end + 1.0], dtype=float)
    print(f"server RSS after warm-up: {srss[0] / MIB:.1f} -> {srss[-1] / MIB:.1f} MiB")
    for name in ("embload_rss", "server_rss"):
        fit = s["stability"][name]
        print(f"{name}: {mib_h(fit)}, {fit['verdict']} ({fit['words']})")
    drift = s["stability"]["p99_drift"]
    print(f"p99_drift: {drift['verdict']} ({drift['words']})")
    load = s["load"]
    lag_windows(run)
    print(
        f"load: offered {load['offered_rps']:g} req/s, achieved {load['achieved_rps']:,.1f}; "
        f"send lag P50/P99/max {load['send_lag_p50_ms']:.3f}/{load['send_lag_p99_ms']:.3f}/"
        f"{load['send_lag_max_ms']:.1f} ms; late {load['late']}, dropped {load['dropped']}, "
        f"unfinished {load['unfinished']}; errors {s['errors']}"
    )


def lag_windows(run: Path, window_s: float = 300.0) -> None:
    """Send lag P99 in windows of the run after warm-up, from records.parquet."""
    import pyarrow.parquet as pq  # embload's own dependency, for records.parquet

    table = pq.read_table(run / "records.parquet", columns=["start_time", "send_lag_s", "warmup"])
    kept = ~table["warmup"].to_numpy(zero_copy_only=False)
    start = table["start_time"].to_numpy()[kept]
    lag = table["send_lag_s"].to_numpy(zero_copy_only=False)[kept]
    t0, p99s = float(start.min()), []
    at = t0
    while at < start.max():
        inside = (start >= at) & (start < at + window_s)
        p99s.append(f"{np.percentile(lag[inside], 99) * 1000:.2f}")
        at += window_s
    print(f"send lag P99 per {window_s / 60:g} min after warm-up: {', '.join(p99s)} ms")


# --- 3. false alarms ---------------------------------------------------------------------------


def pieces(
    series: Series, times: np.ndarray, values: np.ndarray, start: float, end: float, piece: int
) -> list[GrowthFit]:
    fits = []
    at = start
    while at + piece <= end + 1e-6:
        inside = (times >= at) & (times < at + piece)
        fits.append(growth_fit(series, "piece", times[inside], values[inside], start_s=at))
        at += piece
    return fits


def tally(verdicts: Sequence[str]) -> str:
    n, k = len(verdicts), verdicts.count("leak_suspected")
    others = {v: verdicts.count(v) for v in sorted(set(verdicts)) if v != "leak_suspected"}
    rate = f"{100 * k / n:.1f}%" if n else "-"
    return f"{k} of {n} ({rate}) leak_suspected; others {others}"


def real_pieces(run: Path) -> None:
    s = json.loads((run / "summary.json").read_text())
    warm = float(s["stability"]["warmup_end_s"])
    end = warm + s["duration_s"]
    print(f"\n## false alarms: the soak's own flat series, pieces after warm-up ({run})")
    for name, file in (("server_rss", "process.jsonl"), ("embload_rss", "loadgen.jsonl")):
        rows = jsonl(run / file)
        t = np.array([x["time"] for x in rows])
        v = np.array([x["rss_bytes"] for x in rows], dtype=float)
        series: Series = "server_rss" if name == "server_rss" else "embload_rss"
        for piece in PIECES_S:
            fits = pieces(series, t, v, warm, end, piece)
            print(f"{name}, {piece // 60} min pieces: {tally([f.verdict for f in fits])}")
            for n, fit in enumerate(fits):
                if fit.verdict == "leak_suspected":
                    print(f"  piece {n + 1} (from +{fit.start_s - warm:.0f} s): {fit.words}")


def flat_series(rng: np.random.Generator, span_s: float, step_s: float) -> tuple[np.ndarray, float]:
    """One flat RSS series from t = 0 (warm-up included) to SYNTHETIC_WARMUP_S + span_s, and
    its sawtooth's period."""
    t = np.arange(0.0, SYNTHETIC_WARMUP_S + span_s, step_s)
    base = rng.uniform(30, 300) * MIB
    bump = rng.uniform(2, 40) * MIB * (1 - np.exp(-t / rng.uniform(1, 6)))
    period = float(np.exp(rng.uniform(np.log(5), np.log(600))))
    saw = rng.uniform(0.25, 8) * MIB * ((t + rng.uniform(0, period)) % period) / period
    arenas = np.zeros_like(t)
    for _ in range(rng.poisson(span_s / 120)):  # a 1 MiB arena taken, then given back
        at, held = rng.uniform(0, t[-1]), rng.exponential(30)
        arenas[(t >= at) & (t < at + held)] += MIB
    noise = rng.normal(0, rng.uniform(0.01, 0.5) * MIB, t.size)
    v = base + bump + saw + arenas + noise
    return np.asarray(np.round(v / 4096) * 4096), period


def synthetic(count: int, seed: int) -> None:
    if count <= 0:
        return
    print(
        f"\n## false alarms: {count} seeded synthetic flat series per span (seed {seed}); "
        f"power: the same series plus {CONTROL_LEAK_MIB_H:g} MiB/h"
    )
    rng = np.random.default_rng(seed)
    slope = CONTROL_LEAK_MIB_H * MIB / HOUR_S
    for span in SYNTHETIC_SPANS_S:
        for step, kind in ((0.1, "server_rss"), (1.0, "embload_rss")):
            series: Series = "server_rss" if kind == "server_rss" else "embload_rss"
            t = np.arange(0.0, SYNTHETIC_WARMUP_S + span, step)
            grown_by = slope * np.clip(t - SYNTHETIC_WARMUP_S, 0, None)
            flat, slow, leak = [], [], []
            for _ in range(count):
                v, period = flat_series(rng, span, step)
                fit = growth_fit(series, "synthetic", t, v, start_s=SYNTHETIC_WARMUP_S)
                flat.append(fit.verdict)
                if period > span / 4:  # under four teeth in the span
                    slow.append(fit.verdict)
                fit = growth_fit(series, "synthetic", t, v + grown_by, start_s=SYNTHETIC_WARMUP_S)
                leak.append(fit.verdict)
            print(
                f"{span // 60} min, samples every {step:g} s: flat: {tally(flat)}; of them with "
                f"a sawtooth slower than a quarter of the span: "
                f"{slow.count('leak_suspected')} of {len(slow)}; +{CONTROL_LEAK_MIB_H:g} MiB/h "
                f"flagged {leak.count('leak_suspected')} of {len(leak)}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--warmup", default="30s", help="the soak's --embload-warmup")
    parser.add_argument("--trace-rounds", type=int, default=3, help="0 to skip the replay")
    parser.add_argument("--trace-seconds", type=int, default=60)
    parser.add_argument("--synthetic", type=int, default=1000, help="flat series per span")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="where the runs go (default: a new /tmp dir)")
    parser.add_argument("--analyze", type=Path, help="a finished soak's run directory")
    parser.add_argument("--skip-soak", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; server on core 1, generator on core 0",
        flush=True,
    )
    run = args.analyze
    if run is None:
        out = args.out or Path(tempfile.mkdtemp(prefix="embload-soak-"))
        out.mkdir(parents=True, exist_ok=True)
        print(f"runs in {out}", flush=True)
        if args.trace_rounds:
            trace_phase(args, out)
        if args.skip_soak:
            synthetic(args.synthetic, args.seed)
            return
        run = soak_phase(args, out)
    soak_report(run)
    real_pieces(run)
    synthetic(args.synthetic, args.seed)


if __name__ == "__main__":
    main()
