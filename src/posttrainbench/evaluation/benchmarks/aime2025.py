"""AIME 2025: the 30 problems, zero-shot, final "ANSWER:" line compared as a number (inspect_evals).

Local data: a file with the HF dataset's columns ``problem``, ``answer`` and ``id``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posttrainbench.catalog import get_benchmark
from posttrainbench.evaluation.benchmarks import BenchmarkTask, TaskOptions, memory_dataset, register_task
from posttrainbench.evaluation.sources import HubSource, load_records, require_columns

SOURCES = {"test": HubSource("math-ai/aime25", "test", get_benchmark("aime2025").revision)}


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample

    return Sample(id=record.get("id"), input=record["problem"], target=str(record["answer"]))


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_evals.utils.aime_common import aime_scorer, aime_solver

    records = load_records("aime2025", SOURCES["test"], data)
    require_columns(records, ("problem", "answer"), "aime2025 data")
    return Task(name="aime2025", dataset=memory_dataset(records, to_sample, "aime2025"), solver=aime_solver(), scorer=aime_scorer())


register_task(BenchmarkTask("aime2025", SOURCES, build))
