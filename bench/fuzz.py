"""Fuzzing the bundled server at length: tests/support/fuzz.py's requests, 10,000 by default.

The same strategy and contract as tests/e2e/test_fuzz.py (a few hundred, derandomized, in CI),
here with a fresh random seed each run (printed, for repeating a failure): no 5xx but 503, every
4xx in OpenAI's error shape, a vector per input in every 200. Prints the count by status.

    python bench/fuzz.py [--cases 10000] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, seed, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fuzz import check_reply, requests  # noqa: E402
from tests.support.servers import bundled_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=random.randrange(2**32))
    args = parser.parse_args()
    seen: Counter[str] = Counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        bundled_server(Path(tmp) / "server.log") as (_, url),
        httpx.Client(base_url=url.removesuffix("/v1"), timeout=30) as client,
    ):

        @seed(args.seed)
        @settings(
            max_examples=args.cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests())
        def one(request: tuple[str, bytes, str]) -> None:
            path, body, ctype = request
            headers = {"Content-Type": ctype} if ctype else {}
            seen[check_reply(client.post(path, content=body, headers=headers), body)] += 1

        start = time.monotonic()
        one()
        took_s = time.monotonic() - start
    by_status = ", ".join(f"{status} {n:,}" for status, n in sorted(seen.items()))
    print(f"seed {args.seed}: {sum(seen.values()):,} requests in {took_s:.0f} s, none broke the")
    print(f"contract; by status: {by_status}")


if __name__ == "__main__":
    main()
