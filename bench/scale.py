"""Hour-long runs in bounded memory: summary and report of 1M and 10M requests, and why Parquet.

Builds synthetic run directories (tests/support/synthetic.py: 60 s, 64 users, OOM replies
and a crash; the 10M one is 2.5 GB of records.jsonl) and measures, each in a process of its own
under /usr/bin/time (wall clock, peak RSS):

- summary: what a run's end does (records.jsonl -> records.parquet, columns, summary.json);
- report: `embload report RUN`, as a user runs it (records.parquet already there).

With --timed the records carry an open loop's send lag and the server's four-part clock, the
widest records a run writes.

With --formats it also converts the same records to Arrow IPC (the same JSON reader, the same
columns) and reads the summary's columns back from each file: the measurement behind choosing
Parquet for records.parquet (loadtest/store/table.py).

    python bench/scale.py [--sizes 1000000,10000000] [--formats] [--timed]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.synthetic import write_files  # noqa: E402

SUMMARY = "from pathlib import Path; from tests.support.synthetic import summarize_run; "
SUMMARY += "import sys; summarize_run(Path(sys.argv[1]))"

# Arrow IPC from the same JSON reader, block size and schema as table.convert's Parquet (the
# bench's files have no torn last line to leave out)
TO_IPC = """
import sys
import pyarrow as pa, pyarrow.ipc as ipc, pyarrow.json as pj
from loadtest.store import table
out = table._schema(pa)
reader = pj.open_json(sys.argv[1], read_options=pj.ReadOptions(block_size=table._BLOCK),
                      parse_options=pj.ParseOptions(explicit_schema=out))
with ipc.new_file(sys.argv[2], out) as writer:
    for batch in reader:
        writer.write_batch(batch)
"""
ENSURE = "import sys; from pathlib import Path; from loadtest.store.table import ensure; "
ENSURE += "ensure(Path(sys.argv[1]))"

# the summary's columns, as numpy arrays, from either file
READ = """
import sys
import numpy as np, pyarrow as pa, pyarrow.ipc as ipc, pyarrow.parquet as pq
path = sys.argv[1]
names = ["start_time", "latency_s", "status", "error", "inputs", "prompt_tokens", "category"]
if path.endswith(".arrow"):
    reader = ipc.open_file(pa.memory_map(path))
    batches = (reader.get_batch(i).select(names) for i in range(reader.num_record_batches))
else:
    batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(65536, columns=names)
kept = {n: [] for n in names}
for b in batches:
    for n in names:
        col = b.column(n)
        kept[n].append(col.is_null().to_numpy(zero_copy_only=False) if col.type == pa.string()
                       else col.to_numpy(zero_copy_only=False))
arrays = {n: np.concatenate(v) for n, v in kept.items()}
print(sum(a.nbytes for a in arrays.values()))
"""


def timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in MiB of one command."""
    fmt = ["/usr/bin/time", "-f", "%e %M"]
    proc = subprocess.run(fmt + argv, cwd=ROOT, capture_output=True, text=True, check=True)
    wall, kib = proc.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--formats", action="store_true")
    parser.add_argument(
        "--timed",
        action="store_true",
        help="records of an open loop against a server with TEI's timing headers (5 more columns)",
    )
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the runs go")
    args = parser.parse_args()
    py = sys.executable
    embload = str(Path(py).parent / "embload")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d')}"
    )
    if args.timed:
        print("records: an open loop's send lag and the server's clock on every reply")
    print("| requests | records.jsonl | records.parquet | summary: wall s, peak RSS | "
          "`embload report`: wall s, peak RSS |")  # fmt: skip
    print("|---|---|---|---|---|")
    formats = []
    for n in (int(x) for x in args.sizes.split(",")):
        run_dir = Path(tempfile.mkdtemp(prefix="embload-scale-", dir=args.dir))
        try:
            write_files(run_dir, n, timed=args.timed)
            summary = timed([py, "-c", SUMMARY, str(run_dir)])
            report = timed([embload, "report", str(run_dir)])
            mb = {name: (run_dir / name).stat().st_size / 1e6 for name in ("records.jsonl",
                  "records.parquet")}  # fmt: skip
            print(
                f"| {n:,} | {mb['records.jsonl']:,.0f} MB | {mb['records.parquet']:,.0f} MB | "
                f"{summary[0]:.2f} s, {summary[1]:,} MiB | {report[0]:.2f} s, {report[1]:,} MiB |",
                flush=True,
            )
            if args.formats:
                ipc = run_dir / "records.arrow"
                (run_dir / "records.parquet").unlink()
                to_parquet = timed([py, "-c", ENSURE, str(run_dir)])
                to_ipc = timed([py, "-c", TO_IPC, str(run_dir / "records.jsonl"), str(ipc)])
                for name, made in (("parquet", to_parquet), ("arrow", to_ipc)):
                    path = run_dir / f"records.{name}"
                    read = timed([py, "-c", READ, str(path)])
                    formats.append((n, name, made, path.stat().st_size / 1e6, read))
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    if formats:
        print("\n| requests | format | convert: wall s, peak RSS | file | read 7 columns: "
              "wall s, peak RSS |")  # fmt: skip
        print("|---|---|---|---|---|")
        for n, name, made, mb, read in formats:
            print(
                f"| {n:,} | {name} | {made[0]:.2f} s, {made[1]:,} MiB | {mb:,.0f} MB | "
                f"{read[0]:.2f} s, {read[1]:,} MiB |"
            )


if __name__ == "__main__":
    main()
