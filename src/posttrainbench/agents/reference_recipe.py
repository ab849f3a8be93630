"""The reference agent's recipe: supervised fine-tuning with TRL on public training data the integrity
rules allow for the benchmark, inside the trial's sandbox and budget. It runs as
``python -m posttrainbench.agents.reference_recipe`` in the workspace (the ``reference`` agent starts it).

1. **Data** (``RECIPES``): for each benchmark, public data with its licence, from the Hub, or with
   ``--data DIR`` from ``DIR/<name>.jsonl`` files in the same schema (tests, demos, offline clusters). It is
   put in the evaluation's own prompt format where the benchmark has one (GSM8K: its ten-shot system
   message, its template), as prompt/completion chats otherwise. Never the test split.
2. **Held-out split**: 5% of the training data (at least one example, at most 500), to pick the checkpoint.
3. **Method**: full fine-tuning up to 2 B parameters, LoRA (rank 64 on every linear layer) above, in bf16 on
   a GPU; the loss counts the completion only. On a GPU each decoder layer is compiled (``torch.compile``) and
   activations are recomputed (gradient checkpointing) only where they would not fit in the GPU's memory
   (``activations_fit``): recomputing costs about a fifth of the throughput.
4. **Budget**: the clock is the workspace's ``timer.sh`` deadline (``.ptb/deadline``). Training stops when
   what is left falls under the reserve (10% of the budget, at least a minute), whatever the epoch.
5. **Checkpoint**: the lowest held-out loss of the evaluations made (about ten per run, ``--evaluations``), then
   ``final_model/`` with the tokenizer and the evaluation's chat template (``task.json`` names it).

Every step prints to the agent's log: the data, the method, each held-out loss, the first and last training
loss, why training stopped, and the training throughput (tokens/s; on an H100 or H200 also the model FLOPs
utilisation, 6 x parameters x tokens/s against the dense bf16 peak).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELD_OUT_SHARE, HELD_OUT_MAX = 0.05, 500
FULL_FINE_TUNING_MAX_PARAMS = 2e9
EVALUATIONS_PER_RUN = 10
SEED = 0
ACTIVATION_BYTES_PER_TOKEN_LAYER_HIDDEN = {True: 40, False: 56}
"""Activation memory kept for the backward pass, in bytes per (token x layer x hidden unit), compiled or not,
for a dense decoder trained in bf16 without recomputation (SDPA attention, the LM head's log-probabilities
computed in chunks, as TRL does). Measured on Qwen3-1.7B at 8 x 2,048 tokens: 36 compiled, 54 not
(docs/performance.md, reference agent), rounded up."""
DENSE_BF16_PEAK = {"H100": 989e12, "H200": 989e12}
"""Dense bf16 peak FLOP/s by GPU name, the denominator of model FLOPs utilisation."""
WARM_UP_STEPS = 3
"""Steps left out of the throughput (compilation, allocator warm-up)."""


@dataclass(frozen=True)
class Source:
    name: str
    """The file name under --data: <name>.jsonl."""
    hub_id: str
    config: str | None
    split: str
    licence: str
    shape: str
    """How a record becomes a chat: gsm8k (question/answer, the evaluation's prompt), messages (a chat),
    xlam (query/tools/answers)."""
    limit: int | None = None
    """At most this many records (large mixtures)."""


RECIPES: dict[str, list[Source]] = {
    "gsm8k": [Source("gsm8k-train", "openai/gsm8k", "main", "train", "MIT", "gsm8k")],
    "aime2025": [Source("numina-math-cot", "AI-MO/NuminaMath-CoT", None, "train", "Apache-2.0", "messages", limit=100_000)],
    "gpqamain": [Source("tulu-3-sft", "allenai/tulu-3-sft-mixture", None, "train", "ODC-BY-1.0", "messages", limit=100_000)],
    "humaneval": [Source("tulu-3-sft", "allenai/tulu-3-sft-mixture", None, "train", "ODC-BY-1.0", "messages", limit=100_000)],
    "bfcl": [Source("xlam-function-calling", "Salesforce/xlam-function-calling-60k", None, "train", "CC-BY-4.0", "xlam")],
    "arenahardwriting": [Source("tulu-3-sft", "allenai/tulu-3-sft-mixture", None, "train", "ODC-BY-1.0", "messages", limit=100_000)],
    "healthbench": [Source("tulu-3-sft", "allenai/tulu-3-sft-mixture", None, "train", "ODC-BY-1.0", "messages", limit=100_000)],
}
"""The training data of each benchmark: none of it holds the benchmark's test items (the audit checks)."""


def say(line: str) -> None:
    print(f"[reference] {line}", flush=True)


def read_source(source: Source, data: Path | None) -> list[dict[str, Any]]:
    if data is not None:
        path = data / f"{source.name}.jsonl"
        if not path.is_file():
            raise SystemExit(f"[reference] {path} not found: --data needs {source.name}.jsonl ({source.hub_id} in its schema)")
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        import datasets

        records = list(datasets.load_dataset(source.hub_id, source.config, split=source.split))
    if source.limit is not None and len(records) > source.limit:
        records = random.Random(SEED).sample(records, source.limit)
    return records


def gsm8k_shaper(records: list[dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The evaluation's own prompt: its system message of ten solved train problems (the same ten: the
    evaluation's pick from the train split), inspect_evals' template around the question, and the worked
    answer ending in "ANSWER: N"."""
    from inspect_evals.gsm8k.gsm8k import MATH_PROMPT_TEMPLATE, record_to_sample, sample_to_fewshot

    from posttrainbench.evaluation.benchmarks.gsm8k import fewshot_records

    system = "\n\n".join(sample_to_fewshot(record_to_sample(record)) for record in fewshot_records(records))

    def chat(record: dict[str, Any]) -> dict[str, Any]:
        reasoning, _, answer = record["answer"].rpartition("####")
        return {"prompt": [{"role": "system", "content": system},
                           {"role": "user", "content": MATH_PROMPT_TEMPLATE.format(prompt=record["question"])}],
                "completion": [{"role": "assistant", "content": f"{reasoning.strip()}\n\nANSWER: {answer.strip()}"}]}

    return chat


def messages_chat(record: dict[str, Any]) -> dict[str, Any] | None:
    """A chat whose last turn is the assistant's: everything before it is the prompt."""
    messages = [{"role": m["role"], "content": m["content"]} for m in record["messages"] if m.get("content")]
    if len(messages) < 2 or messages[-1]["role"] != "assistant":
        return None
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def xlam_chat(record: dict[str, Any]) -> dict[str, Any]:
    """A request with the tools it may use, answered with the calls as JSON."""
    tools = json.loads(record["tools"]) if isinstance(record["tools"], str) else record["tools"]
    answers = json.loads(record["answers"]) if isinstance(record["answers"], str) else record["answers"]
    prompt = f"You can call these functions:\n{json.dumps(tools, indent=1)}\n\n{record['query']}"
    return {"prompt": [{"role": "user", "content": prompt}], "completion": [{"role": "assistant", "content": json.dumps(answers)}]}


SHAPES: dict[str, Callable[[list[dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any] | None]]] = {
    "gsm8k": gsm8k_shaper, "messages": lambda records: messages_chat, "xlam": lambda records: xlam_chat}
"""For each shape, what turns a record into a chat (given all the records, for what the prompt shares)."""


def training_data(benchmark: str, data: Path | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, held_out) chats of the benchmark's recipe."""
    chats: list[dict[str, Any]] = []
    for source in RECIPES[benchmark]:
        records = read_source(source, data)
        made = [chat for chat in map(SHAPES[source.shape](records), records) if chat is not None]
        say(f"data: {len(made)} examples from {source.hub_id} ({source.licence})" + (f", read from {data}" if data else ""))
        chats += made
    random.Random(SEED).shuffle(chats)
    held = min(HELD_OUT_MAX, max(1, round(len(chats) * HELD_OUT_SHARE)))
    return chats[held:], chats[:held]


class Deadline:
    """The workspace's timer: stop training when what is left falls under the reserve."""

    def __init__(self, workspace: Path, hours: float):
        path = workspace / ".ptb" / "deadline"
        self.at = float(path.read_text().strip()) if path.is_file() else time.time() + hours * 3600
        self.reserve = max(60.0, 0.1 * hours * 3600)

    def left(self) -> float:
        return self.at - time.time()

    def up(self) -> bool:
        return self.left() < self.reserve


def activations_fit(model: Any, tokens_per_step: int, gpu_bytes: int, full: bool, compiled: bool) -> bool:
    """Whether training without gradient checkpointing fits in 90% of the GPU's memory: the weights (with
    their gradients and two AdamW moments in bf16 for full fine-tuning) plus the activations of a step."""
    config = model.config.get_text_config()
    parameters = sum(p.numel() for p in model.parameters())
    weights = parameters * (8 if full else 2)
    activations = tokens_per_step * config.num_hidden_layers * config.hidden_size * ACTIVATION_BYTES_PER_TOKEN_LAYER_HIDDEN[compiled]
    return weights + activations < 0.9 * gpu_bytes


def choose_settings(args: argparse.Namespace, model: Any, parameters: int, cuda: bool) -> tuple[str, float, bool, bool]:
    """(method, learning rate, compiled, gradient checkpointing) from the options and the model's size."""
    method = args.method if args.method != "auto" else ("full" if parameters <= FULL_FINE_TUNING_MAX_PARAMS else "lora")
    learning_rate = args.learning_rate if args.learning_rate is not None else (1e-5 if method == "full" else 1e-4)
    compiled = cuda if args.compile == "auto" else args.compile == "on"
    if args.gradient_checkpointing != "auto":
        return method, learning_rate, compiled, args.gradient_checkpointing == "on"
    if not cuda:
        return method, learning_rate, compiled, False
    import torch

    gpu_bytes = torch.cuda.get_device_properties(0).total_memory
    return method, learning_rate, compiled, not activations_fit(model, args.batch_size * args.max_length, gpu_bytes, method == "full", compiled)


def compile_layers(model: Any) -> None:
    """``torch.compile`` each decoder layer in place (regional compilation): one layer's graph is compiled and
    reused by every layer, so compiling takes seconds, not minutes, and a batch of a new length recompiles one
    layer (the first new length makes the sequence dimension dynamic). The state dict keeps its names."""
    for module in model.modules():
        if type(module).__name__.endswith("DecoderLayer"):
            module.compile()


class Throughput:
    """Training tokens per second over the steps after the warm-up, leaving out the time spent evaluating
    held-out loss and saving checkpoints (counted from the trainer's count of non-padding input tokens)."""

    def __init__(self) -> None:
        self.seconds, self.tokens, self.steps = 0.0, 0, 0
        self.last: tuple[float, int] | None = None

    def step_end(self, step: int, tokens_seen: int) -> None:
        now = time.perf_counter()
        if self.last is not None and step > WARM_UP_STEPS:
            self.seconds += now - self.last[0]
            self.tokens += tokens_seen - self.last[1]
            self.steps += 1
        self.last = (now, tokens_seen)

    def paused(self) -> None:
        """An evaluation or a save ran since the last step: the next interval is not training."""
        self.last = None

    def report(self, parameters: int, full: bool) -> str:
        if not self.seconds:
            return f"throughput: not measured (no step after the first {WARM_UP_STEPS} without an evaluation or a save before it)"
        rate = self.tokens / self.seconds
        line = f"throughput: {rate:,.0f} tokens/s over {self.steps} steps"
        import torch

        if torch.cuda.is_available():
            name = torch.cuda.get_device_name()
            peak = next((flops for key, flops in DENSE_BF16_PEAK.items() if key in name), None)
            if peak and full:
                line += f", model FLOPs utilisation {6 * parameters * rate / peak:.1%} of {name}'s {peak / 1e12:.0f} TFLOP/s"
            line += f", peak GPU memory {torch.cuda.max_memory_allocated() / 1e9:.1f} GB"
        return line


def at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, got {text!r}")
    return int(text)


def above_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"a number above 0, got {text!r}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--benchmark", required=True, choices=sorted(RECIPES))
    parser.add_argument("--base-model", type=Path, required=True)
    parser.add_argument("--hours", type=float, required=True)
    parser.add_argument("--data", type=Path, help="Folder of <source>.jsonl files instead of the Hub")
    parser.add_argument("--max-steps", type=at_least_one, help="Stop after this many optimiser steps (demos)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--evaluations", type=at_least_one, default=EVALUATIONS_PER_RUN, help="Held-out evaluations (and checkpoints) per run")
    parser.add_argument("--max-length", type=at_least_one, default=4096, help="Tokens per example (GSM8K's ten-shot system message alone is about 2,000)")
    parser.add_argument("--method", choices=["auto", "full", "lora"], default="auto")
    parser.add_argument("--lora-rank", type=at_least_one, default=64)
    parser.add_argument("--learning-rate", type=above_zero, help="Default: 1e-5 for full fine-tuning, 1e-4 for LoRA")
    parser.add_argument("--batch-size", type=at_least_one, default=8)
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto", help="torch.compile each decoder layer (auto: on a GPU)")
    parser.add_argument("--gradient-checkpointing", choices=["auto", "on", "off"], default="auto",
                        help="Recompute activations in the backward pass (auto: where they would not fit in the GPU's memory)")
    parser.add_argument("--out", type=Path, default=Path("final_model"))
    args = parser.parse_args()
    train(args)


def train(args: argparse.Namespace) -> None:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    workspace = Path.cwd()
    deadline = Deadline(workspace, args.hours)
    torch.manual_seed(SEED)
    task = json.loads((workspace / "task.json").read_text()) if (workspace / "task.json").is_file() else {}
    train_chats, held_out = training_data(args.benchmark, args.data)
    cuda = torch.cuda.is_available()
    # use_kernels=False: the pinned transformers code trains, not kernels fetched from the Hub at load time
    # (transformers 5.25 fetches them by default on a GPU, and fails without the kernels package or network)
    model = AutoModelForCausalLM.from_pretrained(args.base_model, dtype=torch.bfloat16 if cuda else torch.float32, use_kernels=False)
    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    if task.get("chat_template"):
        tokenizer.chat_template = (workspace / task["chat_template"]).read_text()  # the evaluation's template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    parameters = sum(p.numel() for p in model.parameters())
    method, learning_rate, compile_model, checkpointing = choose_settings(args, model, parameters, cuda)
    full = method == "full"
    steps_per_epoch = math.ceil(len(train_chats) / args.batch_size)
    planned = min(args.max_steps or math.inf, math.ceil(steps_per_epoch * args.epochs))
    every = max(1, int(planned // max(1, args.evaluations)))
    say(f"method: {method} fine-tuning of {parameters / 1e6:.1f} M parameters, learning rate {learning_rate:g}, "
        f"{len(train_chats)} training and {len(held_out)} held-out examples, up to {planned} steps, "
        f"{deadline.left() / 60:.1f} minutes left (reserve {deadline.reserve / 60:.1f}); "
        f"compiled: {'yes' if compile_model else 'no'}, gradient checkpointing: {'yes' if checkpointing else 'no'}")
    throughput = Throughput()
    if compile_model:
        compile_layers(model)
    peft_config = None
    if method == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")

    class StopInTime(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, _args: Any, state: Any, control: Any, **_: Any) -> Any:
            throughput.step_end(state.global_step, state.num_input_tokens_seen)
            if deadline.up():
                say(f"stopping at step {state.global_step}: {deadline.left() / 60:.1f} minutes left")
                control.should_training_stop = True
                control.should_evaluate = control.should_save = True
            return control

        def on_save(self, _args: Any, state: Any, control: Any, **_: Any) -> Any:
            throughput.paused()
            return control

        def on_evaluate(self, _args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **_: Any) -> Any:
            throughput.paused()
            if metrics and "eval_loss" in metrics:
                say(f"step {state.global_step}: held-out loss {metrics['eval_loss']:.4f}")
            return control

    config = SFTConfig(
        output_dir=str(workspace / "checkpoints"), max_steps=int(planned), per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size, learning_rate=learning_rate, lr_scheduler_type="cosine", warmup_steps=max(1, int(planned * 0.03)),
        weight_decay=0.0, max_length=args.max_length, bf16=cuda, logging_steps=max(1, every // 2), eval_strategy="steps",
        eval_steps=every, save_strategy="steps", save_steps=every, save_total_limit=2, save_only_model=True,
        load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False, report_to=[], seed=SEED,
        gradient_checkpointing=checkpointing, include_num_input_tokens_seen="non_padding", use_cpu=not cuda,
        dataloader_num_workers=0, disable_tqdm=True, optim="adamw_torch_fused" if cuda else "adamw_torch",
    )
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(train_chats), eval_dataset=Dataset.from_list(held_out),
                         processing_class=tokenizer, peft_config=peft_config, callbacks=[StopInTime()])
    model.train()  # from_pretrained leaves eval mode, where gradient checkpointing does nothing
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    if losses:
        say(f"training loss {losses[0]:.4f} -> {losses[-1]:.4f} over {trainer.state.global_step} steps")
    say(throughput.report(parameters, full))
    say(f"best held-out loss {trainer.state.best_metric} at {trainer.state.best_model_checkpoint}")
    final = trainer.model.merge_and_unload() if method == "lora" else trainer.model
    final.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    say(f"saved {args.out}")


if __name__ == "__main__":
    sys.exit(main())
