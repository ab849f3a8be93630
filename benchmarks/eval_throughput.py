"""Generated tokens per second of ``ptb eval`` on a GPU, for a random-initialised model of the
Qwen3-1.7B architecture: the ``fast`` profile against ``upstream``, against Inspect's stock ``hf``
provider, and against plain transformers ``generate`` without Inspect.

    python benchmarks/eval_throughput.py --out results.json

Workload: ``--samples`` AIME-style prompts of about 128 tokens, 256 new tokens each, greedy. The model has
random weights (no download), so it almost never stops early; tokens are counted up to end-of-sequence.
Each ``ptb eval`` configuration runs twice in one process; the second (warm) run is the one that counts,
the first shows the one-off load and compile cost. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VOCAB = 151936
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
NEW_TOKENS = 256


def build_model(path: Path) -> Path:
    """Qwen3-1.7B's shapes with random bf16 weights, and a word-level tokenizer covering its whole vocabulary."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    vocab = {f"w{i}": i for i in range(VOCAB - len(SPECIALS))}
    vocab.update({token: VOCAB - len(SPECIALS) + i for i, token in enumerate(SPECIALS)})
    core = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                        additional_special_tokens=SPECIALS[1:])
    config = Qwen3Config(vocab_size=VOCAB, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                         num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                         rope_theta=1000000, tie_word_embeddings=True, torch_dtype="bfloat16",
                         eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"])
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.generation_config = GenerationConfig(do_sample=False, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    # Greedy decoding for every configuration: temperature 0 is what the evaluator reads from this file.
    generation = json.loads((path / "generation_config.json").read_text())
    (path / "generation_config.json").write_text(json.dumps({**generation, "temperature": 0.0}))
    return path


def write_problems(path: Path, samples: int) -> Path:
    # ~50 words of problem text; with the AIME instructions and the chat turn markers the prompt is ~128 tokens.
    rows = [{"id": i, "problem": " ".join(f"w{(i * 131 + j * 7) % 5000 + 10}" for j in range(50)), "answer": "1"}
            for i in range(samples)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def plain_generate(model_path: Path, batch: int, static: bool) -> dict[str, Any]:
    """transformers ``generate`` on a batch of 128-token random prompts, no Inspect, no batching logic."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.bfloat16).to("cuda").eval()
    ids = torch.randint(10, 5000, (batch, 128), device="cuda")
    options: dict[str, Any] = {"max_new_tokens": NEW_TOKENS, "min_new_tokens": NEW_TOKENS, "do_sample": False}
    if static:
        options["cache_implementation"] = "static"
    timings = []
    for _ in range(2):  # the first run warms up (and compiles, for the static cache)
        torch.cuda.synchronize()
        started = time.monotonic()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **options)
        torch.cuda.synchronize()
        timings.append(time.monotonic() - started)
    tokens = (out.shape[1] - 128) * batch
    del model
    torch.cuda.empty_cache()
    return {"tokens": tokens, "cold_s": timings[0], "warm_s": timings[1], "tokens_per_s": tokens / timings[1]}


def ptb_eval(model_path: Path, data: Path, profile: str, limit: int | None) -> dict[str, Any]:
    from posttrainbench.evaluation.runner import evaluate

    runs = [evaluate(model_path, "aime2025", data=data, device="cuda", backend="hf", profile=profile,
                     max_tokens=NEW_TOKENS, limit=limit) for _ in range(2)]
    cold, warm = runs
    return {"tokens": warm["tokens_generated"], "n": warm["n"], "cold_s": cold["wall_seconds"], "warm_s": warm["wall_seconds"],
            "tokens_per_s": warm["tokens_generated"] / warm["wall_seconds"], "max_connections": warm["max_connections"],
            "batch_size": warm.get("generation_batch_size"), "generation_s": warm.get("generation_seconds"), "batches": warm.get("generation_batches"), "generation_tokens_per_s": warm.get("generation_tokens_per_second")}


def inspect_stock_hf(model_path: Path, data: Path, connections: int, limit: int | None) -> dict[str, Any]:
    """Inspect's own ``hf`` provider on the same task (its usage counts padding after EOS as output)."""
    from inspect_ai import eval as inspect_eval

    from posttrainbench.catalog import get_family
    from posttrainbench.evaluation.benchmarks import build_task

    timings, tokens = [], 0
    for _ in range(2):
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as logs:
            log = inspect_eval(build_task("aime2025", data), model=f"hf/{model_path}", limit=limit,
                               model_args={"device": "cuda", "chat_template": get_family("qwen3").chat_template()},
                               max_tokens=NEW_TOKENS, max_connections=connections, temperature=0.0,
                               log_dir=logs, display="none")[0]
        timings.append(time.monotonic() - started)
        tokens = sum(u.output_tokens for u in (log.stats.model_usage or {}).values())
    return {"tokens": tokens, "cold_s": timings[0], "warm_s": timings[1], "tokens_per_s": tokens / timings[1],
            "status": log.status}


def prompt_tokens(model_path: Path, data: Path) -> int:
    from transformers import AutoTokenizer

    from posttrainbench.catalog import get_family
    from inspect_evals.utils.aime_common import USER_PROMPT_TEMPLATE

    problem = json.loads(data.read_text().splitlines()[0])["problem"]
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    text = tokenizer.apply_chat_template([{"role": "user", "content": USER_PROMPT_TEMPLATE.format(prompt=problem)}],
                                         chat_template=get_family("qwen3").chat_template(), tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--upstream-limit", type=int, default=60, help="samples for the slow upstream profile")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="measure only configurations whose name holds one of these words")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: measure one configuration in this process
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    work = args.work or Path(tempfile.mkdtemp(prefix="ptb-throughput-"))
    model_path, data = work / "qwen3-1.7b-random", work / "problems.jsonl"
    if args.one is None:
        build_model(model_path)
        write_problems(data, args.samples)
    plan = {
        "plain generate, batch 256": lambda: plain_generate(model_path, 256, static=False),
        "generate + static cache, batch 256": lambda: plain_generate(model_path, 256, static=True),
        "ptb eval hf, fast": lambda: ptb_eval(model_path, data, "fast", None),
        "ptb eval hf, upstream": lambda: ptb_eval(model_path, data, "upstream", args.upstream_limit),
        "Inspect stock hf, 256 connections": lambda: inspect_stock_hf(model_path, data, 256, 256),
    }
    if args.one is not None:
        print(json.dumps(plan[args.one]()))
        return
    rows: dict[str, Any] = {"gpu": torch.cuda.get_device_name(), "prompt_tokens": prompt_tokens(model_path, data)}
    for name in plan:
        if args.only and not any(word in name for word in args.only):
            continue
        print(f"measuring: {name}", file=sys.stderr, flush=True)
        # A fresh process per configuration: its own GPU memory, compile caches and CUDA graphs.
        argv = [sys.executable, __file__, "--one", name, "--work", str(work), "--upstream-limit", str(args.upstream_limit)]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
        lines = proc.stdout.strip().splitlines()
        rows[name] = json.loads(lines[-1]) if proc.returncode == 0 and lines else {"error": f"exit {proc.returncode}"}
        print(json.dumps(rows[name]), file=sys.stderr, flush=True)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2))
    print(f"\nGPU: {rows['gpu']}; prompt tokens per sample: {rows['prompt_tokens']}; {NEW_TOKENS} new tokens\n")
    print("| configuration | generated tokens | cold wall (s) | warm wall (s) | tokens/s (warm wall) | tokens/s (generating) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        if isinstance(row, dict) and "tokens" in row:
            generating = f"{row['generation_tokens_per_s']:.0f}" if row.get("generation_tokens_per_s") else ""
            print(f"| {name} | {row['tokens']} | {row['cold_s']:.1f} | {row['warm_s']:.1f} | {row['tokens_per_s']:.0f} | {generating} |")
        elif isinstance(row, dict):
            print(f"| {name} | error: {row['error'][:80]} | | | |")


if __name__ == "__main__":
    main()
