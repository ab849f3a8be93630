"""Training throughput of full fine-tuning on a random-initialised Qwen3-1.7B (the real architecture from its
config), at the reference recipe's sequence length, on one GPU.

    PYTHONPATH=src:benchmarks python benchmarks/sft_throughput.py [--cap-gb 80] [--steps 10] [--runs recipe:8,compile:8]

Each configuration trains on synthetic token sequences of 2,048 tokens (no padding: every token counts) in
bf16 with fused AdamW and SDPA attention, and reports tokens/s, model FLOPs utilisation (6 x parameters x
tokens/s against the GPU's dense bf16 peak, 989 TFLOP/s for an H100/H200) and peak GPU memory. ``--cap-gb``
caps the process's GPU memory (``torch.cuda.set_per_process_memory_fraction``) to stand for a smaller GPU.

- eager: the model's own forward and loss (logits of the whole batch in memory), as transformers trains;
- compile: the same under ``torch.compile``;
- compile-chunked: ``torch.compile``, and the loss computed in chunks of 4,096 tokens whose logits are
  recomputed in the backward pass instead of kept (the 151,936-entry vocabulary makes full logits the largest
  activation), which frees memory for a larger batch;
- ckpt: gradient checkpointing on every layer (``model.train()`` first: a model in eval mode skips it);
- recipe: the reference agent's own training (``python -m posttrainbench.agents.reference_recipe``, TRL's
  SFTTrainer with its fused LM head, compiled, no checkpointing where it fits) on a saved random Qwen3-1.7B with
  a word-level tokenizer over its whole vocabulary, and chats whose assistant turn fills the 2,048 tokens; the
  figure is the recipe's own throughput line (steps after the warm-up, held-out evaluations and saves left
  out). ``recipe-ckpt`` and ``recipe-eager`` force checkpointing on and compilation off.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

QWEN3_1_7B = {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
              "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "tie_word_embeddings": True,
              "max_position_embeddings": 40960, "rope_theta": 1000000, "rms_norm_eps": 1e-6}
"""Qwen/Qwen3-1.7B-Base's config.json (the architecture's fields)."""
PEAK_FLOPS = 989e12
CONFIGS = ("eager", "ckpt", "compile", "compile-chunked", "recipe", "recipe-ckpt", "recipe-eager")
SEQUENCE = 2048
CHUNK = 4096


def chunked_loss(model, hidden, labels):  # type: ignore[no-untyped-def]
    """Cross-entropy over the vocabulary chunk by chunk of tokens; each chunk's logits are recomputed in the
    backward pass (checkpoint), so at most one chunk of logits is alive at a time."""
    import torch
    from torch.utils.checkpoint import checkpoint

    hidden = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    targets = labels[:, 1:].reshape(-1)
    weight = model.lm_head.weight

    def piece(h, t):  # type: ignore[no-untyped-def]
        logits = (h @ weight.t()).float()
        return torch.nn.functional.cross_entropy(logits, t, reduction="sum")

    total = sum(checkpoint(piece, hidden[i:i + CHUNK], targets[i:i + CHUNK], use_reentrant=False)
                for i in range(0, hidden.shape[0], CHUNK))
    return total / targets.numel()


def measure(name: str, batch: int, steps: int) -> dict[str, object]:
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    config = Qwen3Config(**QWEN3_1_7B, attn_implementation="sdpa", dtype="bfloat16")
    model = Qwen3ForCausalLM(config).to("cuda", torch.bfloat16)
    model.train()
    if name == "ckpt":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)

    def loss_of(ids):  # type: ignore[no-untyped-def]
        if name == "compile-chunked":
            hidden = model.model(input_ids=ids).last_hidden_state
            return chunked_loss(model, hidden, ids)
        return model(input_ids=ids, labels=ids).loss

    step_loss = torch.compile(loss_of) if name.startswith("compile") else loss_of
    ids = torch.randint(0, QWEN3_1_7B["vocab_size"], (batch, SEQUENCE), device="cuda")
    try:
        for _ in range(3):  # warm-up (and compilation)
            step_loss(ids).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            step_loss(ids).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
    except torch.OutOfMemoryError:
        return {"config": name, "batch": batch, "result": "out of memory"}
    seconds = (time.perf_counter() - started) / steps
    tokens = batch * SEQUENCE / seconds
    return {"config": name, "batch": batch, "parameters_b": round(parameters / 1e9, 3), "tokens_per_s": round(tokens),
            "mfu": round(6 * parameters * tokens / PEAK_FLOPS, 3), "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 1),
            "step_s": round(seconds, 3)}


def recipe_data(folder: Path, examples: int) -> Path:
    """Chats in the Tulu 3 mixture's schema (the recipe's humaneval data), each a short question and an answer
    longer than the sequence, so every row is cut at exactly 2,048 tokens (no padding)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(examples):
        question = " ".join(f"w{(i * 31 + j) % 150000 + 10}" for j in range(16))
        answer = " ".join(f"w{(i * 131 + j * 7) % 150000 + 10}" for j in range(SEQUENCE + 64))
        lines.append(json.dumps({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}))
    (folder / "tulu-3-sft.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def recipe_model(folder: Path) -> Path:
    """A random Qwen3-1.7B saved with a word-level tokenizer and the Qwen3 chat template."""
    from eval_throughput import build_model
    from transformers import AutoTokenizer

    from posttrainbench.catalog import get_family

    if not (folder / "config.json").is_file():
        build_model(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        tokenizer.chat_template = get_family("qwen3").chat_template()
        tokenizer.save_pretrained(folder)
    return folder


def recipe_model_apart(folder: Path) -> Path:
    """``recipe_model`` in a process of its own, so that no CUDA context or memory stays in this one (a trial's
    preflight would see it as another job's GPU process)."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", f"from pathlib import Path; from sft_throughput import recipe_model; recipe_model(Path({str(folder)!r}))"],
                   check=True)
    return folder


def measure_recipe(name: str, batch: int, steps: int, cap_fraction: float, scratch: Path) -> dict[str, object]:
    """The recipe's throughput line, from a run of ``steps`` optimiser steps in a fresh process."""
    import subprocess
    import sys

    import torch

    model = recipe_model_apart(scratch / "model")
    torch.cuda.empty_cache()  # the loops' cached blocks go back before the recipe's process starts
    data = recipe_data(scratch / "data", batch * steps + 40)
    argv = ["reference_recipe", "--benchmark", "humaneval", "--base-model", str(model), "--hours", "1", "--data", str(data),
            "--max-steps", str(steps), "--max-length", str(SEQUENCE), "--batch-size", str(batch), "--evaluations", "1",
            "--method", "full", "--out", str(scratch / "final_model"),
            "--compile", "off" if name == "recipe-eager" else "on",
            "--gradient-checkpointing", "on" if name == "recipe-ckpt" else "auto"]
    runner = (f"import runpy, sys, torch; torch.cuda.set_per_process_memory_fraction({cap_fraction}); sys.argv = {argv!r}; "
              "runpy.run_module('posttrainbench.agents.reference_recipe', run_name='__main__')")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, cwd=scratch)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("[reference]")]
    print("\n".join(lines), flush=True)
    found = [line for line in lines if "throughput:" in line]
    if proc.returncode or not found:
        tail = (proc.stdout + proc.stderr)[-1500:]
        return {"config": name, "batch": batch, "result": "out of memory" if "OutOfMemory" in tail else f"failed: {tail}"}
    line = found[0]
    tokens = float(line.split("throughput: ", 1)[1].split(" tokens/s")[0].replace(",", ""))
    method = next(line for line in lines if "method:" in line)
    parameters = round(float(method.split("fine-tuning of ", 1)[1].split(" M parameters")[0]) * 1e6)
    return {"config": name, "batch": batch, "parameters_b": round(parameters / 1e9, 3), "tokens_per_s": round(tokens),
            "mfu": round(6 * parameters * tokens / PEAK_FLOPS, 3),
            "peak_gb": float(line.split("peak GPU memory ", 1)[1].split(" GB")[0]) if "peak GPU memory" in line else None,
            "wall_s": round(time.perf_counter() - started, 1), "checkpointing": "gradient checkpointing: yes" in "\n".join(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cap-gb", type=float, help="Cap the GPU memory of this process (80 stands for an H100 80 GB)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--recipe-steps", type=int, default=24, help="Optimiser steps of each recipe run (the first 3 are warm-up)")
    parser.add_argument("--runs", default="eager:8,ckpt:8,compile:8,compile-chunked:8,compile-chunked:16,compile-chunked:24",
                        help=f"config:batch pairs; configs: {', '.join(CONFIGS)}")
    args = parser.parse_args()
    runs = [run.split(":") for run in args.runs.split(",")]
    if any(len(run) != 2 or run[0] not in CONFIGS or not run[1].isdigit() for run in runs):
        parser.error(f"--runs takes config:batch pairs with configs {', '.join(CONFIGS)}, got {args.runs!r}")
    import torch

    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")

    import tempfile

    import transformers

    fraction = min(1.0, args.cap_gb * 1e9 / torch.cuda.get_device_properties(0).total_memory) if args.cap_gb else 1.0
    torch.cuda.set_per_process_memory_fraction(fraction)  # this process's loops; each recipe run sets its own
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"cap {args.cap_gb or 'none'} GB", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="ptb-sft-"))
    rows = []
    for name, batch in runs:
        if name.startswith("recipe"):
            row = measure_recipe(name, int(batch), args.recipe_steps, fraction, scratch)
        else:
            row = measure(name, int(batch), args.steps)
        print(json.dumps(row), flush=True)
        rows.append(row)
        torch._dynamo.reset()
    print("| config | batch x 2,048 | tokens/s | MFU | peak GPU memory |")
    print("|---|---|---|---|---|")
    for row in rows:
        if "tokens_per_s" in row:
            print(f"| {row['config']} | {row['batch']} | {row['tokens_per_s']:,} | {row['mfu']:.0%} | {row['peak_gb']} GB |")
        else:
            print(f"| {row['config']} | {row['batch']} | {row['result']} | | |")


if __name__ == "__main__":
    main()
