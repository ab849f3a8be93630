"""The benchmarks, one module each: its catalog entry beside the Inspect task that evaluates it.

A benchmark module calls ``register_benchmark(Benchmark(...))`` with everything that defines the benchmark:
id, display name, weight, token ladder, pinned data ``sources`` (split -> source, read by ``ptb data
fetch``), the original's published reference scores, a ``build(data, options)`` that returns an Inspect
``Task`` and ``shots(data)``, the solved examples of the few-shot baseline (``evaluation/fewshot.py``).
``data`` is a local path in the benchmark's published schema, or None for the pinned source. Every module
of this package is found by ``get_benchmark`` / ``all_benchmarks``: adding a benchmark is adding a file.
Modules import Inspect lazily, inside ``build``.

Weights are the published PostTrainBench factors: w_b is proportional to 1 / (instruct_b - base_b), the
gap between the mean zero-shot score of the official instruct models and of the base models, normalised
so that the seven weights sum to 1.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench import registry

if TYPE_CHECKING:
    from posttrainbench.evaluation.fewshot import Shots
    from posttrainbench.evaluation.judge import GradingShape, JudgeSettings
    from posttrainbench.evaluation.sources import Source

KIND = "benchmark"


@dataclass(frozen=True)
class TokenStep:
    """One rung of the evaluation retry ladder: a token cap and how many attempts it gets."""

    max_tokens: int
    attempts: int


def ladder(first: int, second: int, third: int) -> tuple[TokenStep, ...]:
    """The original's ladder: 4 attempts at the default cap, then 3 and 2 at lower caps."""
    return (TokenStep(first, 4), TokenStep(second, 3), TokenStep(third, 2))


@dataclass(frozen=True)
class Published:
    """The original's published zero-shot scores (percent, its README leaderboard): the mean of its four
    official instruct models and of its four base models."""

    instruct: float
    base: float


@dataclass(frozen=True)
class TaskOptions:
    """Settings a task needs beyond its data: the LLM judge, the seed of answer-choice shuffling, and
    whether the prompts are the few-shot baseline's (which then come from ``shots``, not the task)."""

    judge: JudgeSettings | None = None
    choice_seed: int | None = None
    """Seed of the answer-choice shuffle; None draws one (a new order each evaluation, as the original)."""
    few_shot: bool = False


@dataclass(frozen=True)
class Benchmark:
    """One target benchmark: what the catalog says of it and how it is evaluated on Inspect."""

    id: str
    name: str
    """Display name, as the agent's prompt and the reports show it."""
    weight: float
    """Share of the headline score (the seven weights sum to 1)."""
    published: Published
    dataset: str
    """Where the test data comes from, in words (the pinned ``sources`` say it exactly)."""
    n_test: int
    """Size of the full test set the final evaluation uses."""
    dev_limit: int | None
    """Default ``--limit`` for the agent's own quick evaluations (None: the whole set)."""
    max_connections: int
    gpu_memory_utilization: float
    ladder: tuple[TokenStep, ...]
    """Token caps tried in order by the final evaluation, with attempts per cap."""
    sources: dict[str, Source]
    build: Callable[[Path | None, TaskOptions], Any]
    shots: Callable[[Path | None], Shots]
    """The few-shot baseline's solved examples, formatted as the task formats its samples."""
    revision: str | None = None
    """Pinned revision of the test data, where its source has one."""
    training_note: str = ""
    """What training data is allowed, in one sentence (for the prompt and the auditors)."""
    allowed_splits: tuple[str, ...] = ()
    """Splits of ``sources`` that may be trained on: the contamination scan ignores what they share with the test set."""
    uses_tools: bool = False
    """The model answers with tool calls (the backend parses Hermes-style <tool_call> blocks)."""
    judged: bool = False
    """Scoring needs an LLM judge (``--judge-base-url``/``--judge-model``)."""
    grading_shapes: Callable[[Path | None], list[GradingShape]] | None = None
    """For a judged benchmark: the shapes of its grading requests, from its judge prompts (the judge proxy
    forwards these only)."""
    notes: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    """What defines the score besides the data and the prompts: answer-matching semantics, judge prompts."""

    @property
    def default_max_tokens(self) -> int:
        return self.ladder[0].max_tokens

    def to_dict(self) -> dict[str, Any]:
        """The catalog entry as data (``ptb benchmarks --json``)."""
        return {
            "id": self.id, "name": self.name, "weight": self.weight, "dataset": self.dataset, "revision": self.revision,
            "n_test": self.n_test, "dev_limit": self.dev_limit, "max_connections": self.max_connections,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "ladder": [{"max_tokens": step.max_tokens, "attempts": step.attempts} for step in self.ladder],
            "default_max_tokens": self.default_max_tokens, "training_note": self.training_note,
            "published": {"instruct": self.published.instruct, "base": self.published.base},
            "splits": sorted(self.sources), "uses_tools": self.uses_tools, "judged": self.judged,
        }


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    return registry.register(KIND, benchmark.id, benchmark)


@cache
def _discover() -> None:
    """Import every benchmark module of this package (each registers itself), in file-name order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def get_benchmark(benchmark_id: str) -> Benchmark:
    """The benchmark registered as ``benchmark_id`` (a one-line error listing the known ids otherwise)."""
    _discover()
    return registry.lookup(KIND, benchmark_id)  # type: ignore[no-any-return]


def all_benchmarks() -> list[Benchmark]:
    """Every registered benchmark, by id."""
    _discover()
    return [registry.lookup(KIND, name) for name in sorted(registry.names(KIND))]


def build_task(benchmark_id: str, data: Path | None, options: TaskOptions | None = None) -> Any:
    return get_benchmark(benchmark_id).build(data, options or TaskOptions())


def draw_choice_seed() -> int:
    """A fresh seed for an answer-choice shuffle: the original's order is a new one every run."""
    import random

    return random.SystemRandom().randrange(2**31)


def memory_dataset(records: list[dict[str, Any]], to_sample: Callable[[dict[str, Any]], Any], name: str) -> Any:
    from inspect_ai.dataset import MemoryDataset

    return MemoryDataset([to_sample(record) for record in records], name=name)
