"""A results tree in the original PostTrainBench layout, written for the importer and report tests."""

from __future__ import annotations

import json
from pathlib import Path

from posttrainbench.evaluation.benchmarks import all_benchmarks, get_benchmark

BENCHMARKS = [b.id for b in all_benchmarks()]
W_GSM8K = get_benchmark("gsm8k").weight
CLEAN = {"contamination_judgement.txt": "no contamination detected\n", "disallowed_model_judgement.txt": "only allowed use detected\n"}


def run_folder(root: Path, method: str, name: str, accuracy: float | None = None, time: str | None = "5:00:00",
               judgements: dict[str, str] = CLEAN, final_model: bool = True) -> None:
    run = root / method / name
    run.mkdir(parents=True)
    if accuracy is not None:
        (run / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "stderr": 0.01}))
    if time is not None:
        (run / "time_taken.txt").write_text(time + "\n")
    for file, text in judgements.items():
        (run / file).write_text(text)
    if final_model:
        (run / "final_model").mkdir()
    (run / "prompt.txt").write_text(f"Train {name}")
    (run / "solve_out.txt").write_text('{"type":"thread.started","thread_id":"t"}\n')


def upstream_tree(root: Path) -> None:
    for benchmark in BENCHMARKS:  # base models: 0.1 / 0.15 everywhere but gsm8k (0.2 / 0.3); one instruct score
        run_folder(root, "baseline_zeroshot", f"{benchmark}_Qwen_Qwen3-1.7B-Base_1{len(benchmark)}", 0.2 if benchmark == "gsm8k" else 0.1)
        run_folder(root, "baseline_zeroshot", f"{benchmark}_Qwen_Qwen3-4B-Base_2{len(benchmark)}", 0.3 if benchmark == "gsm8k" else 0.15)
    run_folder(root, "baseline_zeroshot", "gsm8k_Qwen_Qwen3-1.7B_50", 0.8)
    run1, run2 = "claude_claude-opus-4-6_10h_run1", "claude_claude-opus-4-6_10h_run2"
    run_folder(root, run1, "gsm8k_Qwen_Qwen3-1.7B-Base_200", 0.5)
    run_folder(root, run1, "gsm8k_Qwen_Qwen3-1.7B-Base_150", 0.99)  # an older attempt: the higher id wins
    run_folder(root, run1, "gsm8k_Qwen_Qwen3-4B-Base_201", 0.6, judgements={**CLEAN, "contamination_judgement.txt": "contamination detected"})
    run_folder(root, run1, "humaneval_Qwen_Qwen3-1.7B-Base_202", None)  # evaluation failed
    run_folder(root, run1, "bfcl_Qwen_Qwen3-1.7B-Base_203", 0.7, judgements={"contamination_judgement.txt": "no contamination detected"})
    run_folder(root, run1, "aime2025_Qwen_Qwen3-1.7B-Base_204", None, final_model=False)  # nothing submitted
    run_folder(root, run1, "gpqamain_Qwen_Qwen3-1.7B-Base_205", 0.9, judgements={**CLEAN, "disallowed_model_judgement.txt": "maybe?"})
    run_folder(root, run2, "gsm8k_Qwen_Qwen3-1.7B-Base_300", 0.7, time="2:30:00")
    run_folder(root, run2, "gsm8k_Qwen_Qwen3-4B-Base_301", 0.4, time="2:30:00")
    (root / "notes").mkdir()


def expected_seed_scores() -> tuple[float, float]:
    # Every cell but the counted gsm8k ones holds the base score: 0.1 (1.7B) or 0.15 (4B) away from gsm8k.
    rest = 1 - W_GSM8K
    seed1 = ((0.5 * W_GSM8K + 0.1 * rest) + (0.3 * W_GSM8K + 0.15 * rest)) / 2  # 4B gsm8k contaminated: base 0.3
    seed2 = ((0.7 * W_GSM8K + 0.1 * rest) + (0.4 * W_GSM8K + 0.15 * rest)) / 2
    return seed1, seed2
