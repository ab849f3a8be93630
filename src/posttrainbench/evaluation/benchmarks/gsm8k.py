"""GSM8K: 10-shot chain of thought on the 1,319 test problems, scored by the final number (inspect_evals).

The few-shot examples are 10 train problems shuffled with seed 42, joined into the system message, as the
original does. The few-shot baseline uses the same 10 problems as solved exchanges in the plain-text format
instead of the system message. Local data (``--data DIR``) holds ``test`` and ``train`` files with the HF dataset's columns
``question`` and ``answer`` ("reasoning #### number").
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from posttrainbench.evaluation import scoring
from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shot, Shots
from posttrainbench.evaluation.sources import HubSource, load_records, origin, require_columns

FEWSHOT = 10
FEWSHOT_SEED = 42
REVISION = "cc7b047b6e5bb11b4f1af84efc572db110a51b3c"
"""The pinned revision of the test data."""
SOURCES = {
    "test": HubSource("openai/gsm8k", "test", REVISION, data_dir="main"),
    "train": HubSource("openai/gsm8k", "train", REVISION, data_dir="main"),
}


def _records(data: Path | None, split: str) -> list[dict[str, Any]]:
    records = load_records("gsm8k", SOURCES[split], data, split)
    require_columns(records, ("question", "answer"), f"gsm8k {split} data")
    return records


def fewshot_records(train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The 10 shots the original picks: ``datasets.Dataset.shuffle(seed=42)`` (a NumPy permutation), first 10."""
    import numpy as np

    order = np.random.default_rng(FEWSHOT_SEED).permutation(len(train))
    return [train[int(index)] for index in order[:FEWSHOT]]


def _upstream() -> Any:
    # The package re-exports the task function under the module's name, so import the module explicitly.
    return importlib.import_module("inspect_evals.gsm8k.gsm8k")


def shots(data: Path | None) -> Shots:
    upstream = _upstream()
    samples = [upstream.record_to_sample(record) for record in fewshot_records(_records(data, "train"))]
    return Shots([Shot(upstream.MATH_PROMPT_TEMPLATE.format(prompt=s.input), f"{s.metadata['reasoning']}\n\nANSWER: {s.target}")
                  for s in samples], f"{origin(SOURCES['train'], data, 'train')}, {FEWSHOT} problems shuffled with seed {FEWSHOT_SEED}")


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.solver import generate, prompt_template, system_message

    upstream = _upstream()
    solver = [prompt_template(upstream.MATH_PROMPT_TEMPLATE), generate()]
    if not options.few_shot:
        examples = [upstream.sample_to_fewshot(upstream.record_to_sample(r)) for r in fewshot_records(_records(data, "train"))]
        solver.insert(0, system_message("\n\n".join(examples)))
    return Task(
        name="gsm8k",
        dataset=memory_dataset(_records(data, "test"), upstream.record_to_sample, "gsm8k"),
        solver=solver,
        scorer=scoring.number_scorer(),  # the original's match(numeric=True), pinned
    )


register_benchmark(Benchmark(
    id="gsm8k",
    name="GSM8K (Grade School Math 8K)",
    weight=0.0935882347031865,
    published=Published(instruct=87.0, base=20.4),
    dataset="openai/gsm8k (main, test; 10 few-shot examples from train)",
    revision=REVISION,
    n_test=1319,
    dev_limit=150,
    max_connections=2,
    gpu_memory_utilization=0.3,
    ladder=ladder(4000, 3000, 2000),
    training_note="The GSM8K train split may be used for training; the test split may not.",
    allowed_splits=("train",),
    sources=SOURCES, build=build, shots=shots, provenance={"scoring": scoring.SEMANTICS},
))
