"""Inspect tasks, one module per benchmark, registered under the benchmark id.

Each module declares its pinned data ``sources`` (split -> source, read by ``ptb data fetch``), a
``build(data, options)`` that returns an Inspect ``Task``, and ``shots(data)``, the solved examples of the
few-shot baseline (``evaluation/fewshot.py``). ``data`` is a local path in the benchmark's published
schema, or None for the pinned source. Modules import Inspect lazily inside ``build``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench import registry
from posttrainbench.catalog import get_benchmark

if TYPE_CHECKING:
    from posttrainbench.evaluation.fewshot import Shots
    from posttrainbench.evaluation.judge import JudgeSettings
    from posttrainbench.evaluation.sources import Source

KIND = "task"
_MODULES = {
    name: f"posttrainbench.evaluation.benchmarks.{name}"
    for name in ("aime2025", "arenahardwriting", "bfcl", "gpqamain", "gsm8k", "healthbench", "humaneval")
}


def draw_choice_seed() -> int:
    """A fresh seed for an answer-choice shuffle: the original's order is a new one every run."""
    import random

    return random.SystemRandom().randrange(2**31)


@dataclass(frozen=True)
class TaskOptions:
    """Settings a task needs beyond its data: the LLM judge, the seed of answer-choice shuffling, and
    whether the prompts are the few-shot baseline's (which then come from ``shots``, not the task)."""

    judge: JudgeSettings | None = None
    choice_seed: int | None = None
    """Seed of the answer-choice shuffle; None draws one (a new order each evaluation, as the original)."""
    few_shot: bool = False


@dataclass(frozen=True)
class BenchmarkTask:
    """How one benchmark is evaluated on Inspect."""

    id: str
    sources: dict[str, Source]
    build: Callable[[Path | None, TaskOptions], Any]
    shots: Callable[[Path | None], Shots]
    """The few-shot baseline's solved examples, formatted as the task formats its samples."""
    uses_tools: bool = False
    """The model answers with tool calls (the backend parses Hermes-style <tool_call> blocks)."""
    judged: bool = False
    """Scoring needs an LLM judge (``--judge-base-url``/``--judge-model``)."""
    notes: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    """What defines the score besides the data and the prompts: answer-matching semantics, judge prompts."""


def register_task(spec: BenchmarkTask) -> BenchmarkTask:
    registry.register(KIND, spec.id, spec)
    return spec


def task_spec(benchmark_id: str) -> BenchmarkTask:
    get_benchmark(benchmark_id)  # unknown ids fail with the list of known ones
    importlib.import_module(_MODULES[benchmark_id])
    return registry.lookup(KIND, benchmark_id)  # type: ignore[no-any-return]


def build_task(benchmark_id: str, data: Path | None, options: TaskOptions | None = None) -> Any:
    return task_spec(benchmark_id).build(data, options or TaskOptions())


def evaluable() -> list[str]:
    return list(_MODULES)


def memory_dataset(records: list[dict[str, Any]], to_sample: Callable[[dict[str, Any]], Any], name: str) -> Any:
    from inspect_ai.dataset import MemoryDataset

    return MemoryDataset([to_sample(record) for record in records], name=name)
