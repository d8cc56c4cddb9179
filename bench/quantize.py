"""`embload serve --quantize int8` on the CPU: minilm fp32 and int8 side by side, in one process.

Both models load through the server's own code (loadtest/server/model.py `Encoder`), then run
the built-in corpus's texts in passes of `--batch` (32), cut at minilm's 256 tokens as the
server cuts them, tokenized once up front: only forward passes are timed. The sides take turns
pass by pass (the order rotating), so a machine that slows down in the middle slows every side
alike; each side's rate over fp32's is taken within each round. Also: each side's load time
(for int8, quantizing and compiling), its weights' memory, and the cosine of each text's vector
with fp32's.

`--candidates` adds the other ways this CPU could run minilm in int8, or faster, behind the
same `Encoder`: torchao's int8 without torch.compile, PyTorch's own (deprecated)
`torch.ao.quantization.quantize_dynamic` (fbgemm), and fp32 under torch.compile alone.

Inductor's cache goes to a fresh folder, so int8's load time is a first start's (a later start
on the same machine reuses what it can of /tmp/torchinductor_<user>).

    python bench/quantize.py [--rounds 5] [--batch 32] [--candidates]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from importlib.metadata import version
from typing import Any

MIB = 1 << 20


def candidates(plain: Any) -> dict[str, Any]:
    """More sides: fp32 Encoders whose model is swapped for another way to run it."""
    import torch
    from torchao.quantization import (  # type: ignore[import-untyped]
        Int8DynamicActivationInt8WeightConfig,
        quantize_,
    )

    from loadtest.server.model import Encoder

    def swapped(make: Any) -> Encoder:
        encoder = Encoder("minilm", "cpu")
        encoder._model = make(encoder._model)
        return encoder

    def eager_int8(model: Any) -> Any:
        quantize_(model, Int8DynamicActivationInt8WeightConfig())
        return model

    def fbgemm(model: Any) -> Any:
        linear = {torch.nn.Linear}
        return torch.ao.quantization.quantize_dynamic(model, linear, dtype=torch.qint8)  # type: ignore[no-untyped-call]

    return {
        "int8, torchao without compile": swapped(eager_int8),
        "int8, torch.ao quantize_dynamic": swapped(fbgemm),
        "fp32 under torch.compile": swapped(lambda m: torch.compile(m, dynamic=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--candidates", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="embload-bench-inductor-") as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # before torch is imported
        measure(args)


def measure(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from loadtest.data import builtin_corpus
    from loadtest.server.model import Encoder

    sides = {"fp32": Encoder("minilm", "cpu"), "int8": Encoder("minilm", "cpu", quantize="int8")}
    if args.candidates:
        sides |= candidates(sides["fp32"])
    texts = [p.text for p in builtin_corpus()]
    ids = sides["fp32"].tokenize(texts, truncate=True)
    batches = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
    vectors = {name: np.concatenate([e.embed(b) for b in batches]) for name, e in sides.items()}

    print(
        f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} "
        f"cores, torch {torch.__version__}, torchao {version('torchao')}; {len(texts)} texts "
        f"(the built-in corpus), {len(batches)} passes of {args.batch}"
    )
    print("\n| | fp32 | int8 | int8 / fp32 |\n|---|---|---|---|")
    fp32, int8 = sides["fp32"].info, sides["int8"].info
    print(f"| load s | {fp32.load_s:.1f} | {int8.load_s:.1f} | {int8.load_s / fp32.load_s:.1f} |")
    print(
        f"| weights MiB | {fp32.weight_bytes / MIB:.1f} | {int8.weight_bytes / MIB:.1f} | "
        f"{int8.weight_bytes / fp32.weight_bytes:.3f} |"
    )
    print(f"\ncosine of each text's vector with fp32's, over {len(texts)} texts:")
    for name in list(sides)[1:]:
        cosines = np.sum(vectors["fp32"] * vectors[name], axis=1)
        print(f"- {name}: min {cosines.min():.4f}, median {float(np.median(cosines)):.4f}")

    names = list(sides)
    print(f"\n| round | {' | '.join(f'{n} sentences/s' for n in names)} | each / fp32 |")
    print(f"|---|{'---|' * len(names)}---|")
    ratios: dict[str, list[float]] = {name: [] for name in names[1:]}
    for n in range(args.rounds):
        spent = dict.fromkeys(names, 0.0)
        for i, batch in enumerate(batches):
            turn = (i + n) % len(names)
            for name in names[turn:] + names[:turn]:
                t0 = time.perf_counter()
                sides[name].embed(batch)
                spent[name] += time.perf_counter() - t0
        rates = {name: len(texts) / s for name, s in spent.items()}
        for name, figures in ratios.items():
            figures.append(rates[name] / rates["fp32"])
        each = ", ".join(f"{r[-1]:.2f}" for r in ratios.values())
        print(f"| {n + 1} | {' | '.join(f'{rates[m]:.1f}' for m in names)} | {each} |", flush=True)
    print("\nsentences/s over fp32's, median [min-max] of the rounds:")
    for name, r in ratios.items():
        print(f"- {name}: {statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]")


if __name__ == "__main__":
    main()
