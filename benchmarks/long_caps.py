"""Generation at the benchmarks' real token caps on one GPU: the ``hf`` worker's static batches sized to
memory against transformers' continuous batching, on random-initialised models of the real architectures.

    python benchmarks/long_caps.py --arch qwen3-1.7b --benchmark aime2025 --modes static continuous

Workload, the same for both modes: ``--items`` prompts of the benchmark's typical prompt length, the
benchmark's first token cap, and lengths decided by the model: a bias on the end-of-sequence logit makes the
model draw it with probability 1/mean at each step (temperature 1, no top-p/top-k), so answer lengths are
geometric with the benchmark's typical mean and a tail that reaches the cap. GPU memory is capped with
``torch.cuda.set_per_process_memory_fraction`` at ``--memory-gb`` (80: an H100). GPU time is scarce, so each
mode generates for ``--seconds`` after a warm-up: static mode runs one chunk sized to memory and projects
whole chunks from its time per step (a chunk lasts as long as its longest answer); continuous batching
queues every prompt and counts the answers that finished (a lower bound). Projections to the full test set
are labelled as such. Prints one JSON line per cell and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

ARCHS: dict[str, dict[str, Any]] = {
    # The published configs' shapes (hidden, MLP, layers, heads, KV heads, head size, vocabulary).
    "qwen3-1.7b": dict(kind="qwen3", hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True),
    "qwen3-4b": dict(kind="qwen3", hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True),
    "smollm3-3b": dict(kind="smollm3", hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                       num_key_value_heads=4, vocab_size=128256, tie_word_embeddings=True),
    "tiny": dict(kind="qwen3", hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=16, vocab_size=5000, tie_word_embeddings=True),  # a CPU smoke test
    "gemma3-4b": dict(kind="gemma3", hidden_size=2560, intermediate_size=10240, num_hidden_layers=34, num_attention_heads=8,
                      num_key_value_heads=4, head_dim=256, sliding_window=1024, vocab_size=262208),
}
# Typical prompt tokens (chat template included), the first token cap, the typical answer length of a base
# model, and the full test set's size.
WORKLOADS = {
    "aime2025": (150, 16_000, 3_000, 30), "gpqamain": (300, 16_000, 3_000, 448), "gsm8k": (1_800, 4_000, 300, 1_319),
    "humaneval": (200, 4_000, 300, 164), "bfcl": (500, 4_000, 150, 100), "healthbench": (600, 16_384, 1_000, 245),
    "arenahardwriting": (300, 16_384, 1_500, 250),
}


def build(arch: str, device: str) -> tuple[Any, Any]:
    """The architecture with random bf16 weights on the GPU, and a word-level tokenizer over its vocabulary."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    shape = dict(ARCHS[arch])
    kind, vocab_size = shape.pop("kind"), shape["vocab_size"]
    vocab = {f"w{i}": i for i in range(vocab_size - 1)} | {"<eos>": vocab_size - 1}
    core = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", pad_token="<eos>")
    eos = vocab_size - 1
    if kind == "qwen3":
        from transformers import Qwen3Config as Config, Qwen3ForCausalLM as Model
        config = Config(**shape, eos_token_id=eos, pad_token_id=eos)
    elif kind == "smollm3":
        from transformers import SmolLM3Config as Config, SmolLM3ForCausalLM as Model
        config = Config(**shape, eos_token_id=eos, pad_token_id=eos)  # every 4th layer without rotary embedding (NoPE)
    else:
        from transformers import Gemma3Config as Config, Gemma3ForConditionalGeneration as Model
        config = Config(text_config={**shape, "eos_token_id": eos, "pad_token_id": eos}, eos_token_id=eos, pad_token_id=eos)
    with torch.device(device):
        model = Model(config).to(torch.bfloat16 if device == "cuda" else torch.float32).eval()
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = eos
    return model, tokenizer


def bias_end_of_sequence(model: Any, tokenizer: Any, mean_tokens: int) -> None:
    """Add a bias to the end-of-sequence logit so that it is drawn with probability 1/mean_tokens per step."""
    import torch

    eos = tokenizer.eos_token_id
    head = model.get_output_embeddings()
    device = next(model.parameters()).device
    ids = torch.randint(0, eos, (8, 256), device=device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits.float()
    others = torch.cat([logits[..., :eos], logits[..., eos + 1:]], dim=-1).logsumexp(-1).mean()
    p = 1 / mean_tokens
    bias = torch.zeros(head.out_features, device=device, dtype=head.weight.dtype)
    bias[eos] = others - logits[..., eos].mean() + math.log(p / (1 - p))
    head.bias = torch.nn.Parameter(bias, requires_grad=False)


def prompts(tokenizer: Any, count: int, length: int) -> list[str]:
    words = min(50_000, len(tokenizer) - 20)
    return [" ".join(f"w{(i * 7919 + j * 104729) % words + 10}" for j in range(length)) for i in range(count)]


def peak_gb() -> float:
    import torch

    return round(torch.cuda.max_memory_allocated() / 1e9, 1) if torch.cuda.is_available() else 0.0


def longest_of(rows: int, mean: int, cap: int) -> float:
    """Expected length of the longest of ``rows`` geometric answers of mean ``mean``, capped at ``cap``."""
    harmonic = sum(1 / k for k in range(1, rows + 1))
    return min(cap, mean * harmonic)


def run_static(model: Any, tokenizer: Any, texts: list[str], cap: int, mean: int, seconds: float, cache: str) -> dict[str, Any]:
    """One chunk sized to memory, stopped after ``seconds`` (after a warm-up that compiles): the time per
    decoding step at that size, projected to whole chunks (a chunk lasts as long as its longest answer)."""
    from posttrainbench.evaluation.backends.hf_worker import WorkerSpec, _Model

    device = str(next(model.parameters()).device)
    worker = _Model(WorkerSpec(model_path=None, device=device, batch_size=256,  # type: ignore[arg-type]
                               cache=cache if device.startswith("cuda") else "dynamic", memory_share=0.9),
                    loaded=(model, tokenizer))
    chunk = texts[:worker.rows_for(texts, cap)]
    rows = len(chunk)
    settings = (cap, 1.0, 1.0, 0, 0, ())
    started = time.monotonic()
    model.generation_config.max_time = 1.0  # warm-up: compiles the prefill and decoding step at this shape
    worker.generate(chunk, settings)
    warmup = time.monotonic() - started
    model.generation_config.max_time = seconds
    started = time.monotonic()
    results, stats = worker.generate(chunk, settings)
    wall = time.monotonic() - started
    model.generation_config.max_time = None
    steps = max(n for _, _, n in results)
    step_s = wall / steps
    answer = mean * (1 - (1 - 1 / mean) ** cap)  # mean of a geometric answer cut at the cap
    chunk_s = step_s * longest_of(rows, mean, cap)
    if getattr(model, "_cache", None) is not None:
        model._cache = None  # the static cache generate keeps for reuse: free it for the next mode
    return {"items": rows, "wall_s": round(wall, 1), "tokens": sum(n for _, _, n in results), "steps": steps,
            "step_ms": round(1000 * step_s, 2), "warmup_s": round(warmup, 1), "rows": stats.rows, "oom_splits": stats.oom_splits,
            "chunk_s": round(chunk_s, 1), "tokens_per_s": round(rows * answer / chunk_s, 1), "peak_gb": peak_gb()}


def paged_cache(model: Any, share: float, page_size: int = 256) -> int | None:
    """Pages of the paged cache that fit in ``share`` of this process's budget (the rest: activations, masks
    and CUDA graph pools).
    transformers sizes its cache from the GPU's free memory and ignores the process's memory fraction."""
    import torch

    from posttrainbench.evaluation.backends.kv_memory import Shapes, gpu_budget, kv_bytes

    device = str(next(model.parameters()).device)
    if not device.startswith("cuda"):
        return None
    torch.cuda.empty_cache()
    per_token = kv_bytes(Shapes.of(model.config), 1, 2)
    return int(share * gpu_budget(device, 0.9) // (page_size * per_token))


def run_continuous(model: Any, tokenizer: Any, texts: list[str], cap: int, seconds: float, requests: int,
                   graphs: bool | None, fill_s: float, cache_share: float) -> dict[str, Any]:
    """All prompts queued at once; after ``fill_s`` seconds (the slots fill), the tokens generated in the next
    ``seconds``, counted over finished and running requests alike (steady state, not a bound)."""
    from transformers import ContinuousBatchingConfig, GenerationConfig

    config = GenerationConfig(max_new_tokens=cap, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                              eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id)
    batching = ContinuousBatchingConfig(num_blocks=paged_cache(model, cache_share), max_requests_per_batch=requests,
                                        use_cuda_graph=graphs, allow_block_sharing=False)
    started = time.monotonic()
    manager = model.init_continuous_batching(generation_config=config, continuous_batching_config=batching)
    manager.start()
    finished, finished_tokens = 0, 0

    def generated() -> tuple[int, int]:
        running = list(manager.batch_processor.scheduler.active_requests.values()) if manager.batch_processor else []
        return finished_tokens + sum(len(state.generated_tokens) for state in running), len(running)

    try:
        manager.add_request(tokenizer(texts[0], add_special_tokens=False)["input_ids"], max_new_tokens=16)
        manager.get_result(timeout=900)
        warmup = time.monotonic() - started
        for text in texts:
            manager.add_request(tokenizer(text, add_special_tokens=False)["input_ids"], max_new_tokens=cap)
        queued = time.monotonic()
        marks: list[tuple[float, int, int]] = [(queued, 0, 0)]  # replaced once the slots have filled
        while finished < len(texts) and time.monotonic() - queued < fill_s + seconds:
            result = manager.get_result(timeout=0.5)
            if result is not None and result.is_finished():
                finished, finished_tokens = finished + 1, finished_tokens + len(result.generated_tokens)
            if len(marks) == 1 and marks[0][0] == queued and time.monotonic() - queued >= fill_s:
                marks[0] = (time.monotonic(), *generated())
        marks.append((time.monotonic(), *generated()))
    finally:
        manager.stop(block=True, timeout=120, hard_stop=True)  # drop the requests still queued or running
    (t0, g0, _), (t1, g1, running) = marks[0], marks[-1]
    resolved = manager.continuous_batching_config
    return {"items": finished, "queued": len(texts), "wall_s": round(t1 - t0, 1), "tokens": g1 - g0, "warmup_s": round(warmup, 1),
            "tokens_per_s": round((g1 - g0) / (t1 - t0), 1), "rows": running,
            "step_ms": round(1000 * running * (t1 - t0) / max(1, g1 - g0), 1),  # about: the rows running vary a little "slots": requests,
            "graphs": str(resolved.use_cuda_graph), "async": str(resolved.use_async_batching),
            "pages": resolved.num_blocks, "peak_gb": peak_gb()}


def run_paged(model: Any, tokenizer: Any, texts: list[str], cap: int, seconds: float, fill_s: float) -> dict[str, Any]:
    """The ``hf`` worker's own continuous batching (``paged`` mode, as ``ptb eval`` runs it at long caps): each
    prompt a job of its own, counted as ``run_continuous`` counts."""
    import queue

    from posttrainbench.evaluation.backends.hf_worker import WorkerSpec, _Model

    replies: queue.Queue[tuple[Any, str, Any]] = queue.Queue()
    device = str(next(model.parameters()).device)
    worker = _Model(WorkerSpec(model_path=None, device=device, batch_size=256, cache="paged", memory_share=0.9),  # type: ignore[arg-type]
                    loaded=(model, tokenizer), reply=lambda *answer: replies.put(answer))
    engine = worker.continuous
    settings = (cap, 1.0, 1.0, 0, 0, ())
    started = time.monotonic()
    engine.add("warm-up", texts[:1], (16, *settings[1:]))
    replies.get(timeout=900)
    warmup = time.monotonic() - started
    finished, finished_tokens, errors = 0, 0, []

    def generated() -> tuple[int, int]:
        with engine._changed:
            processor = engine._manager.batch_processor if engine._manager else None
            running = list(processor.scheduler.active_requests.values()) if processor else []
        return finished_tokens + sum(len(state.generated_tokens) for state in running), len(running)

    for index, text in enumerate(texts):
        engine.add(index, [text], settings)
    queued = time.monotonic()
    marks: list[tuple[float, int, int]] = [(queued, 0, 0)]
    while finished < len(texts) and time.monotonic() - queued < fill_s + seconds:
        try:
            _, status, value = replies.get(timeout=0.5)
        except queue.Empty:
            value = None
        if value is not None and status == "ok":
            finished, finished_tokens = finished + 1, finished_tokens + value[0][0][2]
        elif value is not None:
            errors.append(value.strip().splitlines()[-1])
        if marks[0][0] == queued and time.monotonic() - queued >= fill_s:
            marks[0] = (time.monotonic(), *generated())
    marks.append((time.monotonic(), *generated()))
    with engine._changed:
        engine._stop_manager()  # drop the requests still running
    (t0, g0, _), (t1, g1, running) = marks[0], marks[-1]
    return {"items": finished, "queued": len(texts), "wall_s": round(t1 - t0, 1), "tokens": g1 - g0, "warmup_s": round(warmup, 1),
            "tokens_per_s": round((g1 - g0) / (t1 - t0), 1), "rows": running, "slots": engine.slots,
            "oom_splits": engine.splits, "step_ms": round(1000 * running * (t1 - t0) / max(1, g1 - g0), 1),
            "errors": errors[:3], "peak_gb": peak_gb()}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=ARCHS, default="qwen3-1.7b")
    parser.add_argument("--benchmark", choices=WORKLOADS, default="aime2025")
    parser.add_argument("--modes", nargs="+", choices=("static", "continuous", "paged"), default=["static", "paged"],
                        help="static: the worker's batches sized to memory; paged: the worker's continuous batching; "
                             "continuous: transformers' manager driven directly (--slots, --graphs).")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--cache", choices=("static", "dynamic"), default="static", help="KV cache of the static mode's batches.")
    parser.add_argument("--cap", type=int, default=None, help="Token cap instead of the benchmark's (smoke tests only).")
    parser.add_argument("--items", type=int, default=None, help="Prompts per mode (default: the benchmark's test set).")
    parser.add_argument("--continuous-items", type=int, default=None, help="Prompts for continuous batching (default: --items).")
    parser.add_argument("--seconds", type=float, default=90, help="How long each mode generates (after its warm-up).")
    parser.add_argument("--memory-gb", type=float, default=80)
    parser.add_argument("--slots", type=int, nargs="+", default=[128], help="Continuous batching: requests per step (one cell each).")
    parser.add_argument("--fill-seconds", type=float, default=20, help="Continuous batching: not counted while the slots fill.")
    parser.add_argument("--cache-share", type=float, default=0.6, help="Continuous batching: share of the budget for pages.")
    parser.add_argument("--graphs", nargs="+", choices=("auto", "on", "off"), default=["auto"],
                        help="Continuous batching: CUDA graphs (one cell per setting and slot count).")
    args = parser.parse_args()
    prompt_tokens, cap, mean, full = WORKLOADS[args.benchmark]
    cap = args.cap or cap
    if args.device == "cuda":
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_gb * 1e9 / total))
    model, tokenizer = build(args.arch, args.device)
    bias_end_of_sequence(model, tokenizer, mean)
    rows = []
    cells = [("static", 0, "-")] if "static" in args.modes else []
    cells += [("paged", 256, "on")] if "paged" in args.modes else []
    cells += [("continuous", slots, graphs) for slots in args.slots for graphs in args.graphs if "continuous" in args.modes]
    for mode, slots, graphs in cells:
        count = (args.continuous_items if mode != "static" else None) or args.items or full
        texts = prompts(tokenizer, count, prompt_tokens)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        try:
            result = (run_static(model, tokenizer, texts, cap, mean, args.seconds, args.cache) if mode == "static"
                      else run_paged(model, tokenizer, texts, cap, args.seconds, args.fill_seconds) if mode == "paged"
                      else run_continuous(model, tokenizer, texts, cap, args.seconds, slots,
                                        {"auto": None, "on": True, "off": False}[graphs], args.fill_seconds, args.cache_share))
        except Exception as error:  # noqa: BLE001 - a mode that fails is a row of the table, not the end of the run
            result = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"}
        label = (f"static ({args.cache} cache)" if mode == "static" else "paged (the worker's continuous batching)"
                 if mode == "paged" else f"continuous ({slots} slots, graphs {graphs})")
        row = {"arch": args.arch, "benchmark": args.benchmark, "mode": label, "cap": cap, "mean_tokens": mean,
               "prompt_tokens": prompt_tokens, "memory_gb": args.memory_gb, **result}
        import gc

        gc.collect()
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        if "tokens_per_s" in result:
            row["projected_full_s"] = round(full * mean / result["tokens_per_s"], 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("| arch | benchmark | mode | items done | wall s | tokens | step ms | tokens/s | rows | splits | peak GB | full set (projected s) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['arch']} | {row['benchmark']} | {row['mode']} | {row.get('items', '-')} | {row.get('wall_s', '-')} | "
              f"{row.get('tokens', '-')} | {row.get('step_ms', '-')} | {row.get('tokens_per_s', row.get('error'))} | "
              f"{row.get('rows', '-')} | {row.get('oom_splits', '-')} | {row.get('peak_gb', '-')} | {row.get('projected_full_s', '-')} |")


if __name__ == "__main__":
    main()
