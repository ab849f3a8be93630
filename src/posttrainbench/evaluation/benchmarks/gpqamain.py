"""GPQA (main set, 448 questions): chain-of-thought multiple choice, answer letter scored by ``choice()``.

The original shuffles the four options without a seed, so the order and the correct letter change from
run to run. So does this task by default; the seed it drew is recorded in the metrics (``choice_seed``), so
an evaluation can be repeated exactly. ``--choice-seed N`` (``TaskOptions.choice_seed``) fixes the order
instead, for every model alike: a named deviation from the original. Local data: a file with the HF dataset's columns (``Question``,
``Correct Answer``, ``Incorrect Answer 1..3``, ``Record ID``).

The few-shot baseline's shots are questions of GPQA's extended set that are not in the main set, answered
with the expert's ``Explanation`` and the letter; with local data, a ``fewshot`` file of the extended set.
"""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

from posttrainbench.evaluation import scoring
from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, draw_choice_seed, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shot, Shots
from posttrainbench.evaluation.sources import HubSource, load_records, origin, require_columns

SOURCES = {
    "test": HubSource("Idavidrein/gpqa", "train", None, name="gpqa_main", gated=True),
    "fewshot": HubSource("Idavidrein/gpqa", "train", None, name="gpqa_extended", gated=True),
}
COLUMNS = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
FEWSHOT = 3
FEWSHOT_SEED = 42


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample

    return Sample(
        id=record.get("Record ID"),
        input=record["Question"],
        choices=[str(record[column]) for column in COLUMNS[1:]],
        target="A",  # the correct answer comes first, before the shuffle
        metadata={"domain": record.get("High-level domain"), "subdomain": record.get("Subdomain")},
    )


def _records(data: Path | None) -> list[dict[str, Any]]:
    records = load_records("gpqamain", SOURCES["test"], data)
    require_columns(records, COLUMNS, "gpqamain data")
    return records


def shot_prompt(question: str, choices: list[str]) -> str:
    """The question as ``multiple_choice(cot=True)`` words it: Inspect's template, options ``A) ...``."""
    from inspect_ai.solver import MultipleChoiceTemplate

    letters = string.ascii_uppercase[:len(choices)]
    options = "\n".join(f"{letter}) {choice}" for letter, choice in zip(letters, choices, strict=True))
    return str(MultipleChoiceTemplate.SINGLE_ANSWER_COT.value).format(question=question, choices=options, letters=",".join(letters))


def shots(data: Path | None) -> Shots:
    test_ids = {record.get("Record ID") for record in _records(data)}
    extended = load_records("gpqamain", SOURCES["fewshot"], data, "fewshot")
    require_columns(extended, (*COLUMNS, "Record ID", "Explanation"), "gpqamain few-shot data (GPQA extended)")
    pool = [record for record in extended if record["Record ID"] not in test_ids]
    rng = random.Random(FEWSHOT_SEED)
    items = []
    for record in rng.sample(pool, min(FEWSHOT, len(pool))):
        choices = [str(record[column]) for column in COLUMNS[1:]]
        rng.shuffle(choices)
        answer = string.ascii_uppercase[choices.index(str(record["Correct Answer"]))]
        items.append(Shot(shot_prompt(record["Question"], choices), f"{str(record['Explanation']).strip()}\n\nANSWER: {answer}"))
    return Shots(items, f"{origin(SOURCES['fewshot'], data, 'fewshot')} without the main set's questions, {FEWSHOT} drawn with seed {FEWSHOT_SEED}")


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.solver import multiple_choice

    dataset = memory_dataset(_records(data), to_sample, "gpqamain")
    seed = options.choice_seed if options.choice_seed is not None else draw_choice_seed()
    dataset.shuffle_choices(seed=seed)
    return Task(name="gpqamain", dataset=dataset, solver=multiple_choice(cot=True), scorer=scoring.choice_scorer())


register_benchmark(Benchmark(
    id="gpqamain",
    name="GPQA",
    weight=0.22462215653948,
    published=Published(instruct=36.2, base=8.5),
    dataset="Idavidrein/gpqa (gpqa_main, train)",
    n_test=448,
    dev_limit=50,
    max_connections=6,
    gpu_memory_utilization=0.8,
    ladder=ladder(16000, 12000, 8000),
    sources=SOURCES, build=build, shots=shots, notes={"choice_shuffle": True},
    provenance={"scoring": scoring.SEMANTICS},
))
