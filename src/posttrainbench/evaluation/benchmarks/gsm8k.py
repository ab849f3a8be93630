"""GSM8K: 10-shot chain of thought on the 1,319 test problems, scored by the final number (inspect_evals).

The few-shot examples are 10 train problems shuffled with seed 42, joined into the system message, as the
original does. Local data (``--data DIR``) is a directory with ``test`` and ``train`` files (``.jsonl`` or
``.parquet``) with the HF dataset's columns ``question`` and ``answer`` ("reasoning #### number").
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from posttrainbench import registry
from posttrainbench.catalog import get_benchmark
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.benchmarks import KIND

HF_PATH = "openai/gsm8k"
FEWSHOT = 10
FEWSHOT_SEED = 42


def _local_file(data: Path, split: str) -> Path:
    for candidate in (data / f"{split}.jsonl", data / f"{split}.parquet", *sorted((data / "main").glob(f"{split}-*.parquet"))):
        if candidate.is_file():
            return candidate
    raise PtbError(f"gsm8k data {data} has no {split}.jsonl or {split}.parquet")


def _dataset(data: Path | None, split: str, record_to_sample: Any, **options: Any) -> Any:
    from inspect_ai.dataset import hf_dataset, json_dataset

    if data is None:
        return hf_dataset(
            HF_PATH, split=split, data_dir="main", revision=get_benchmark("gsm8k").revision,
            sample_fields=record_to_sample, **options,
        )
    if not data.is_dir():
        raise PtbError(f"gsm8k --data must be a directory with test and train files, got {data}")
    source = _local_file(data, split)
    if source.suffix == ".parquet":
        return hf_dataset("parquet", split="train", data_files=str(source), sample_fields=record_to_sample, **options)
    return json_dataset(str(source), sample_fields=record_to_sample, **options)


def gsm8k_task(data: Path | None = None) -> Any:
    from inspect_ai import Task
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate, prompt_template, system_message

    # The package re-exports the task function under the module's name, so import the module explicitly.
    upstream = importlib.import_module("inspect_evals.gsm8k.gsm8k")
    shots = _dataset(data, "train", upstream.record_to_sample, shuffle=True, seed=FEWSHOT_SEED, limit=FEWSHOT)
    return Task(
        name="gsm8k",
        dataset=_dataset(data, "test", upstream.record_to_sample),
        solver=[
            system_message("\n\n".join(upstream.sample_to_fewshot(sample) for sample in shots)),
            prompt_template(upstream.MATH_PROMPT_TEMPLATE),
            generate(),
        ],
        scorer=match(numeric=True),
    )


registry.register(KIND, "gsm8k", gsm8k_task)
