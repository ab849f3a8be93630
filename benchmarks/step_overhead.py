"""Where a decoding step's time goes on one GPU: plain ``generate`` against the ``hf`` worker's chunk,
eager against compiled (static cache, CUDA graphs), at a benchmark's batch shape.

    python benchmarks/step_overhead.py --arch qwen3-1.7b --rows 48 --prompt 1800 --cap 4000

Random-initialised weights of the real architecture (``long_caps.build``), greedy decoding, every row forced
to the same length (``min_new_tokens``), so each step does the same work. Cells:
- ``dynamic``: ``generate`` with a dynamic cache (what the ``hf`` worker's static batches run);
- ``static``: ``generate`` with a static cache of prompt + cap positions, which transformers
  compiles (``reduce-overhead``: CUDA graphs) on its first call; the first call's time is the warm-up;
- ``static-eager``: the same cache with compilation disabled;
- ``sample``: ``dynamic`` drawing tokens (temperature 1, no top-p/top-k) instead of greedy;
- ``padded``: ``dynamic`` with half the rows left-padded by 8 positions (an attention mask with holes);
- ``worker``: the ``hf`` worker's own chunk (``_Model._generate_chunk``: tokenizer, padding, sampling), whose
  lengths are left to the model (end-of-sequence is rarely drawn by random weights).
Time per step is measured over ``--steps`` steps after the prefill (a short run's time is subtracted).
Prints one JSON line per cell and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from long_caps import ARCHS, build


def synced(fn: Any) -> float:
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync()
    started = time.monotonic()
    fn()
    sync()
    return time.monotonic() - started


def generate_step_s(model: Any, ids: Any, steps: int, static_len: int | None = None, padded: bool = False,
                    **options: Any) -> tuple[float, float]:
    """Seconds per step of ``generate`` and the first call's seconds (warm-up: compiles where it compiles).
    ``static_len``: a static cache of that many positions (else a dynamic one)."""
    import torch
    from transformers import StaticCache

    mask = torch.ones_like(ids)
    if padded:
        mask[::2, :8] = 0
    options = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None, **options}

    def run(new_tokens: int) -> float:
        if static_len:
            options["past_key_values"] = StaticCache(config=model.config, max_cache_len=static_len)
        with torch.inference_mode():
            return synced(lambda: model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                                                 min_new_tokens=new_tokens, **options))

    return timed(run, steps)


def timed(run: Any, steps: int) -> tuple[float, float]:
    """Seconds per step from a short and a long run (the prefill cancels out), and a first run's seconds."""
    warmup = run(8)
    short, long = run(8), run(8 + steps)
    return (long - short) / steps, warmup


def worker_step_s(model: Any, tokenizer: Any, rows: int, prompt: int, steps: int) -> tuple[float, float]:
    """Seconds per step of the ``hf`` worker's chunk, sampling as an evaluation does."""
    from long_caps import prompts
    from posttrainbench.evaluation.backends.hf_worker import WorkerSpec, _Model

    worker = _Model(WorkerSpec(model_path=None, device=str(model.device), batch_size=rows, cache="dynamic", memory_share=0.9),  # type: ignore[arg-type]
                    loaded=(model, tokenizer))
    texts = prompts(tokenizer, rows, prompt)
    return timed(lambda new_tokens: synced(lambda: worker._generate_chunk(texts, (new_tokens, 1.0, 1.0, 0, 0, ()), rows)), steps)


def main() -> None:
    import torch
    from transformers import GenerationConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=ARCHS, default="qwen3-1.7b")
    parser.add_argument("--rows", type=int, nargs="+", default=[48])
    parser.add_argument("--prompt", type=int, default=1800, help="Prompt tokens per row.")
    parser.add_argument("--cap", type=int, default=4000, help="Token cap: the static cache holds prompt + cap positions.")
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a smoke test with --arch tiny.")
    parser.add_argument("--memory-gb", type=float, default=80, help="GPU memory cap (80: an H100).")
    parser.add_argument("--cells", nargs="+", default=["dynamic", "sample", "padded", "worker", "static", "static-eager"],
                        choices=("dynamic", "static", "static-eager", "sample", "padded", "worker"))
    args = parser.parse_args()

    if args.device == "cuda":
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_gb * 1e9 / torch.cuda.get_device_properties(0).total_memory))
    model, tokenizer = build(args.arch, args.device)
    model.generation_config = GenerationConfig(**{**model.generation_config.to_dict(), "max_length": None})
    rows_out = []
    for rows in args.rows:
        ids = torch.randint(10, min(50_000, model.config.get_text_config().vocab_size - 1), (rows, args.prompt), device=args.device)
        for cell in args.cells:
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            warmup = None
            if cell in ("dynamic", "padded"):
                step, warmup = generate_step_s(model, ids, args.steps, padded=cell == "padded")
            elif cell == "sample":
                step, warmup = generate_step_s(model, ids, args.steps, do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
            elif cell == "worker":
                step, warmup = worker_step_s(model, tokenizer, rows, args.prompt, args.steps)
            else:
                # A fresh cache of prompt + cap positions each call, as in the worker's static batches: one shape, one compile.
                step, warmup = generate_step_s(model, ids, args.steps, static_len=args.prompt + args.cap,
                                               disable_compile=cell == "static-eager")
            row = {"arch": args.arch, "rows": rows, "prompt": args.prompt, "cap": args.cap, "cell": cell,
                   "step_ms": round(1000 * step, 1), "tokens_per_s": round(rows / step),
                   "warmup_s": None if warmup is None else round(warmup, 1),
                   "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 1) if args.device == "cuda" else None}
            print(json.dumps(row), flush=True)
            rows_out.append(row)
            model._cache = None
            if args.device == "cuda":
                torch.cuda.empty_cache()
    print("\n| rows | prompt | cell | time per step | tokens/s | warm-up | peak memory |\n|---:|---:|---|---:|---:|---:|---:|")
    for r in rows_out:
        print(f"| {r['rows']} | {r['prompt']} | {r['cell']} | {r['step_ms']} ms | {r['tokens_per_s']} | {r['warmup_s']} s | {r['peak_gb']} GB |")


if __name__ == "__main__":
    main()
