"""Harness overhead per trial (prepare, preflight, collect, audit, record, and the sandbox launch) as the
HF cache grows. The cache is made of real, fully written files; the agent leaves a 2 GB final_model and a
2 GB checkpoint so that collect has real weights to move and prune.

    .venv/bin/python benchmarks/overhead.py --cache-gb 0 4 8

Prints a markdown table; the agent's own time (``true`` after writing its files) is excluded by timing
the sandbox launch of an agent that does nothing, separately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from posttrainbench import api
from posttrainbench.config import EvalOverrides
from posttrainbench.fileio import write_json_atomic
from posttrainbench.trial import Trial

CHUNK = b"\0" * (64 << 20)


def fill_cache(hf: Path, gigabytes: int) -> None:
    blobs = hf / "hub" / "models--bench--big" / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    for index in range(gigabytes * 2):
        with open(blobs / f"shard-{index}", "wb") as handle:
            for _ in range(8):  # 8 x 64 MiB = 512 MiB per file
                handle.write(CHUNK)


def measure(root: Path, model: Path, sandbox: str) -> dict[str, float]:
    command = ('mkdir -p final_model ckpt && cp "$PTB_BASE_MODEL_PATH"/*.json final_model/ && '
               'head -c 2G /dev/zero > final_model/model.safetensors && head -c 2G /dev/zero > ckpt/model.safetensors')
    config = api.make_config(agent="command", agent_args={"command": command}, model=str(model), family="qwen3",
                             benchmark="gsm8k", hours=1, device="cpu", sandbox=sandbox, evaluation=EvalOverrides(limit=1))
    trial = Trial.create(config, api.results_root(root / "results") / config.run_id)
    timings = {}
    for stage in ("prepare", "preflight", "collect", "audit", "record"):
        if stage == "collect":
            trial._solve()  # the agent's time is not overhead; the empty launch below measures the sandbox
            write_json_atomic(trial.paths.stage_marker("solve"), {"stage": "solve", "seconds": 0, "data": {}})
        started = time.perf_counter()
        data = getattr(trial, f"_{stage}")()
        timings[stage] = time.perf_counter() - started
        if stage == "collect":
            print(f"collect moved {data['final_model_bytes']} bytes, pruned {data['pruned_bytes']}", file=sys.stderr)
        write_json_atomic(trial.paths.stage_marker(stage), {"stage": stage, "seconds": timings[stage], "data": data})
        if stage == "audit":
            write_json_atomic(trial.paths.stage_marker("evaluate"), {"stage": "evaluate", "seconds": 0, "data": {}})
    empty = api.make_config(agent="command", agent_args={"command": "true"}, model=str(model), family="qwen3",
                            benchmark="gsm8k", hours=1, device="cpu", sandbox=sandbox)
    launch = Trial.create(empty, root / "results" / empty.run_id)
    launch._prepare()
    started = time.perf_counter()
    launch._solve()
    timings["sandbox launch"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-gb", type=int, nargs="+", default=[0, 4])
    parser.add_argument("--sandbox", default="bubblewrap")
    args = parser.parse_args()
    from posttrainbench.tiny import build_tiny_qwen3

    rows = []
    for gigabytes in args.cache_gb:
        root = Path(tempfile.mkdtemp(prefix="ptb-overhead-", dir=os.environ.get("PTB_BENCH_DIR")))
        try:
            os.environ["HF_HOME"] = str(root / "hf")
            os.environ["PTB_SCRATCH"] = str(root / "scratch")
            os.environ["PTB_MONITOR_INTERVAL"] = "60"
            (root / "scratch").mkdir()
            fill_cache(root / "hf", gigabytes)
            model = build_tiny_qwen3(root / "tiny")
            timings = measure(root, model, args.sandbox)
            rows.append((gigabytes, timings))
            print(f"cache {gigabytes} GB: " + ", ".join(f"{k} {v:.3f}s" for k, v in timings.items()), file=sys.stderr)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    stages = list(rows[0][1])
    print("| HF cache | " + " | ".join(stages) + " | total overhead |")
    print("|---" * (len(stages) + 2) + "|")
    for gigabytes, timings in rows:
        print(f"| {gigabytes} GB | " + " | ".join(f"{timings[s]:.3f} s" for s in stages) + f" | {sum(timings.values()):.2f} s |")


if __name__ == "__main__":
    main()
