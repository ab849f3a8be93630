"""A whole trial of the reference agent on one GPU: a random-initialised Qwen3-1.7B (the real architecture,
a word-level tokenizer over its whole vocabulary, the Qwen3 chat template), GSM8K-shaped synthetic data, the
bubblewrap sandbox, the evaluation on the synthetic test split and the audit, all through ``ptb run``.

    PYTHONPATH=src:benchmarks python benchmarks/reference_trial.py --hours 0.08 --out DIR

The data follow GSM8K's schema and lengths (a question of about 50 words, a worked answer of about 100 ending
in ``#### N``), in words the tokenizer knows, so the ten-shot prompt is about as long in tokens as the real
one. The model is random: its score says nothing; the trial's stages, the agent's log (method, held-out
losses, throughput), the audit's verdicts and the wall time of each stage are what this measures. Prints a
summary and copies the small files of the run directory (result, audit, agent log) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sft_throughput import recipe_model_apart


def gsm8k_like(rng: random.Random, index: int) -> dict[str, str]:
    question = " ".join(f"w{rng.randrange(10, 150000)}" for _ in range(rng.randint(35, 65)))
    answer = " ".join(f"w{rng.randrange(10, 150000)}" for _ in range(rng.randint(70, 130)))
    return {"question": question, "answer": f"{answer}\n#### {index % 97}"}


def write_data(folder: Path, train: int, test: int) -> tuple[Path, Path]:
    """The evaluation's data folder (test.jsonl, and train.jsonl for its ten shots) and the agent's training
    folder (gsm8k-train.jsonl: the same train split, as the recipe reads it)."""
    rng = random.Random(0)
    rows = [gsm8k_like(rng, i) for i in range(train + test)]
    evaluation, training = folder / "benchmark", folder / "training"
    evaluation.mkdir(parents=True, exist_ok=True)
    training.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row) + "\n" for row in rows]
    (evaluation / "train.jsonl").write_text("".join(lines[:train]))
    (evaluation / "test.jsonl").write_text("".join(lines[train:]))
    (training / "gsm8k-train.jsonl").write_text("".join(lines[:train]))
    return evaluation, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=0.08, help="The agent's budget (0.08 h: 4.8 minutes)")
    parser.add_argument("--scratch", type=Path, default=Path("/srv/ptb-trial"), help="Model, data and results (not under /tmp or a home: the sandbox hides those)")
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--limit", type=int, default=32, help="Test items evaluated")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=2048, help="The agent's max_length (the ten-shot rows are about 1,700 tokens)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    started = time.time()
    model = recipe_model_apart(args.scratch / "model")
    evaluation, training = write_data(args.scratch / "data", args.train, args.limit)
    results = args.scratch / "results"
    print(f"model and data ready in {time.time() - started:.0f} s", flush=True)
    argv = [sys.executable, "-m", "posttrainbench", "run", "--agent", "reference", "--agent-arg", f"data={training}",
            "--agent-arg", f"batch_size={args.batch_size}", "--agent-arg", f"max_length={args.max_length}", "--model", str(model), "--family", "qwen3", "--benchmark", "gsm8k",
            "--hours", str(args.hours), "--eval-data", str(evaluation), "--limit", str(args.limit),
            "--max-tokens", str(args.max_tokens), "--eval-chat-template", "project", "--results", str(results), "--json"]
    print("$ " + " ".join(argv), flush=True)
    started = time.time()
    proc = subprocess.run(argv, text=True, capture_output=True)
    wall = time.time() - started
    print(proc.stderr[-4000:], flush=True)
    print(f"ptb run: exit {proc.returncode} after {wall:.0f} s", flush=True)
    run_dirs = [path.parent for path in results.glob("*/result.json")]
    args.out.mkdir(parents=True, exist_ok=True)
    for run in run_dirs:
        for name in ("result.json", "audit.json", "config.json"):
            if (run / name).is_file():
                shutil.copy(run / name, args.out / name)
        for log in (run / "agent").glob("*.log"):
            shutil.copy(log, args.out / log.name)
            print("\n".join(line for line in log.read_text(errors="replace").splitlines() if "[reference]" in line))
    print(proc.stdout[-3000:])
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
