"""GPQA (main set, 448 questions): chain-of-thought multiple choice, answer letter scored by ``choice()``.

The original shuffles the four options without a seed, so the order and the correct letter change from
run to run. Here the shuffle is seeded (``TaskOptions.choice_seed``, 42 by default): every evaluation of
every model sees the same option order. Local data: a file with the HF dataset's columns (``Question``,
``Correct Answer``, ``Incorrect Answer 1..3``, ``Record ID``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posttrainbench.evaluation.benchmarks import BenchmarkTask, TaskOptions, memory_dataset, register_task
from posttrainbench.evaluation.sources import HubSource, load_records, require_columns

SOURCES = {"test": HubSource("Idavidrein/gpqa", "train", None, name="gpqa_main", gated=True)}
COLUMNS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample

    return Sample(
        id=record.get("Record ID"),
        input=record["Question"],
        choices=[str(record[column]) for column in COLUMNS[1:]],
        target="A",  # the correct answer comes first, before the shuffle
        metadata={"domain": record.get("High-level domain"), "subdomain": record.get("Subdomain")},
    )


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.scorer import choice
    from inspect_ai.solver import multiple_choice

    records = load_records("gpqamain", SOURCES["test"], data)
    require_columns(records, COLUMNS, "gpqamain data")
    dataset = memory_dataset(records, to_sample, "gpqamain")
    dataset.shuffle_choices(seed=options.choice_seed)
    return Task(name="gpqamain", dataset=dataset, solver=multiple_choice(cot=True), scorer=choice())


register_task(BenchmarkTask("gpqamain", SOURCES, build, notes={"choice_shuffle": "seeded"}))
