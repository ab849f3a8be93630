"""Training throughput of full fine-tuning on a random-initialised Qwen3-1.7B (the real architecture from its
config), at the reference recipe's sequence length, on one GPU.

    python benchmarks/sft_throughput.py [--cap-gb 80] [--steps 10] [--configs eager,compile,compile-chunked]

Each configuration trains on synthetic token sequences of 2,048 tokens (no padding: every token counts) in
bf16 with fused AdamW and SDPA attention, and reports tokens/s, model FLOPs utilisation (6 x parameters x
tokens/s against the GPU's dense bf16 peak, 989 TFLOP/s for an H100/H200) and peak GPU memory. ``--cap-gb``
caps the process's GPU memory (``torch.cuda.set_per_process_memory_fraction``) to stand for a smaller GPU.

- eager: the model's own forward and loss (logits of the whole batch in memory), as transformers trains;
- compile: the same under ``torch.compile``;
- compile-chunked: ``torch.compile``, and the loss computed in chunks of 4,096 tokens whose logits are
  recomputed in the backward pass instead of kept (the 151,936-entry vocabulary makes full logits the largest
  activation), which frees memory for a larger batch;
- ckpt: gradient checkpointing on every layer (``model.train()`` first: a model in eval mode skips it).
"""

from __future__ import annotations

import argparse
import json
import time

QWEN3_1_7B = {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
              "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "tie_word_embeddings": True,
              "max_position_embeddings": 40960, "rope_theta": 1000000, "rms_norm_eps": 1e-6}
"""Qwen/Qwen3-1.7B-Base's config.json (the architecture's fields)."""
PEAK_FLOPS = 989e12
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cap-gb", type=float, help="Cap the GPU memory of this process (80 stands for an H100 80 GB)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--runs", default="eager:8,ckpt:8,compile:8,compile-chunked:8,compile-chunked:16,compile-chunked:24",
                        help="config:batch pairs")
    args = parser.parse_args()
    import torch

    if args.cap_gb:
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_gb * 1e9 / total))
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}, cap {args.cap_gb or 'none'} GB", flush=True)
    rows = []
    for run in args.runs.split(","):
        name, batch = run.split(":")
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
