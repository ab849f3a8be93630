"""AIME 2025: the 30 problems, zero-shot (inspect_evals' prompt), scored as the original: ``\\boxed`` removed,
then the last number of the whole answer must end with the target (``scoring.match_aime``).

The few-shot baseline's shots are AIME 2024 problems with their published solutions (the dataset
inspect_evals pins for its ``aime2024`` task): the same competition, a year earlier, so no test problem.
Local data: a file with the HF dataset's columns ``problem``, ``answer`` and ``id``; for the shots a
``fewshot`` file in the AIME 2024 dataset's columns (``ID``, ``Problem``, ``Solution``, ``Answer``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posttrainbench.evaluation import scoring
from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shot, Shots
from posttrainbench.evaluation.sources import HubSource, load_records, origin, require_columns

REVISION = "563bb8404243c5f09de6ec262f2db674fe5bce9b"
"""The pinned revision of the test data."""
SOURCES = {
    "test": HubSource("math-ai/aime25", "test", REVISION),
    "fewshot": HubSource("Maxwell-Jia/AIME_2024", "train", "8d88b2876a82a080e2f172cc9b25d0d9d2cb4792"),
}
FEWSHOT = 3
FEWSHOT_SEED = 42


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample

    return Sample(id=record.get("id"), input=record["problem"], target=str(record["answer"]))


def shots(data: Path | None) -> Shots:
    import random

    from inspect_evals.utils.aime_common import USER_PROMPT_TEMPLATE

    records = load_records("aime2025", SOURCES["fewshot"], data, "fewshot")
    require_columns(records, ("Problem", "Solution", "Answer"), "aime2025 few-shot data (AIME 2024)")
    chosen = random.Random(FEWSHOT_SEED).sample(records, min(FEWSHOT, len(records)))
    return Shots([Shot(USER_PROMPT_TEMPLATE.format(prompt=r["Problem"]), f"{r['Solution'].strip()}\n\nANSWER: {r['Answer']}")
                  for r in chosen], f"{origin(SOURCES['fewshot'], data, 'fewshot')}, {FEWSHOT} problems drawn with seed {FEWSHOT_SEED}")


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_evals.utils.aime_common import aime_solver  # the prompt, worded as the original's

    records = load_records("aime2025", SOURCES["test"], data)
    require_columns(records, ("problem", "answer"), "aime2025 data")
    return Task(name="aime2025", dataset=memory_dataset(records, to_sample, "aime2025"), solver=aime_solver(), scorer=scoring.number_scorer(scoring.match_aime))


register_benchmark(Benchmark(
    id="aime2025",
    name="American Invitational Mathematics Examination (AIME) 2025",
    weight=0.226536549919078,
    published=Published(instruct=29.2, base=1.7),
    dataset="math-ai/aime25 (test)",
    revision=REVISION,
    n_test=30,
    dev_limit=None,
    max_connections=6,
    gpu_memory_utilization=0.8,
    ladder=ladder(16000, 12000, 8000),
    sources=SOURCES, build=build, shots=shots, provenance={"scoring": scoring.SEMANTICS},
))
