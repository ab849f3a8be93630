"""What stop sequences cost and save in the ``hf`` backend's generation process, on a GPU.

    python benchmarks/stop_sequences.py --out stops.json

The few-shot baseline stops every answer at the next ``User:`` turn. This measures, on a random-initialised
model of the Qwen3-1.7B architecture (``eval_throughput.build_model``), one batch of ``--batch`` prompts
with ``--new-tokens`` greedy tokens, in both cache modes (``static``: the ``fast`` profile on a GPU, with
padded batches, a static KV cache and a compiled forward; ``dynamic``: plain ``generate``):

- no stop sequences;
- a stop sequence that never occurs (the cost of checking it at every step);
- a stop word that most rows produce early (what stopping saves: finished rows are padded, and the batch
  ends when its last row has stopped).

Each configuration runs three times on one worker; the first (load, compile) is reported as cold, the
best of the other two as warm. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def measure(worker: Any, prompts: list[str], new_tokens: int, stops: tuple[str, ...]) -> dict[str, Any]:
    timings, results = [], []
    for _ in range(3):
        started = time.monotonic()
        results, _ = worker.generate(prompts, (new_tokens, 0.0, None, None, None, stops))
        timings.append(time.monotonic() - started)
    tokens = sum(generated for _, _, generated in results)
    stopped = sum(1 for _, _, generated in results if generated < new_tokens)
    warm = min(timings[1:])
    return {"stops": list(stops), "tokens": tokens, "rows_stopped": stopped, "rows": len(results),
            "cold_s": timings[0], "warm_s": warm, "tokens_per_s": tokens / warm}


def early_word(worker: Any, prompts: list[str]) -> str:
    """The word that the most rows produce among their first 16 new tokens (the model is greedy, so the
    same prompts give the same words again)."""
    first, _ = worker.generate(prompts, (16, 0.0, None, None, None, ()))
    counts = Counter(word for text, _, _ in first for word in set(text.split()))
    return counts.most_common(1)[0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import torch
    from eval_throughput import build_model

    from posttrainbench.evaluation.backends.hf_worker import WorkerHandle, WorkerSpec

    work = Path(tempfile.mkdtemp(prefix="ptb-stops-"))
    model = build_model(work / "qwen3-1.7b-random")
    prompts = [" ".join(f"w{(i * 131 + j * 7) % 5000 + 10}" for j in range(100)) for i in range(args.batch)]
    rows: dict[str, Any] = {"gpu": torch.cuda.get_device_name(), "batch": args.batch, "new_tokens": args.new_tokens}
    for cache in ("static", "dynamic"):
        worker = WorkerHandle(WorkerSpec.of(model, "cuda", args.batch, cache))
        try:
            word = early_word(worker, prompts)
            for name, stops in (("no stop sequence", ()), ("stop never met", ("\nUser:",)), ("stop met early", (word,))):
                print(f"measuring: {cache}, {name}", file=sys.stderr, flush=True)
                rows[f"{cache}, {name}"] = measure(worker, prompts, args.new_tokens, stops)
                print(json.dumps(rows[f"{cache}, {name}"]), file=sys.stderr, flush=True)
                if args.out:
                    args.out.write_text(json.dumps(rows, indent=2))
        finally:
            worker.stop()
    print(f"\nGPU: {rows['gpu']}; batch {args.batch}; up to {args.new_tokens} new tokens per row\n")
    print("| cache, stop sequences | rows stopped early | generated tokens | cold (s) | warm (s) | tokens/s (warm) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        if isinstance(row, dict):
            print(f"| {name} | {row['rows_stopped']}/{row['rows']} | {row['tokens']} | {row['cold_s']:.1f} | {row['warm_s']:.1f} | {row['tokens_per_s']:.0f} |")


if __name__ == "__main__":
    main()
