"""The seven benchmarks: names, weights, evaluation defaults and token ladders.

Weights are the published PostTrainBench factors: w_b is proportional to 1 / (instruct_b - base_b),
the gap between the mean zero-shot score of the official instruct models and of the base models,
normalised so that the seven weights sum to 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from posttrainbench import registry

KIND = "benchmark"


@dataclass(frozen=True)
class TokenStep:
    """One rung of the evaluation retry ladder: a token cap and how many attempts it gets."""

    max_tokens: int
    attempts: int


@dataclass(frozen=True)
class Benchmark:
    """One target benchmark of the catalog."""

    id: str
    name: str
    """Display name, as the agent's prompt and the reports show it."""
    weight: float
    """Share of the headline score (the seven weights sum to 1)."""
    dataset: str
    """Where the test data comes from (HF dataset id or a description of the vendored file)."""
    revision: str | None
    """Pinned dataset revision, where the source has one."""
    n_test: int
    """Size of the full test set the final evaluation uses."""
    dev_limit: int | None
    """Default ``--limit`` for the agent's own quick evaluations (None: the whole set)."""
    max_connections: int
    gpu_memory_utilization: float
    ladder: tuple[TokenStep, ...]
    """Token caps tried in order by the final evaluation, with attempts per cap."""
    training_note: str = ""
    """What training data is allowed, in one sentence (for the prompt and the auditors)."""

    @property
    def default_max_tokens(self) -> int:
        return self.ladder[0].max_tokens

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ladder"] = [asdict(step) for step in self.ladder]
        data["default_max_tokens"] = self.default_max_tokens
        return data


def _ladder(first: int, second: int, third: int) -> tuple[TokenStep, ...]:
    # The original retries 4 times at the default cap, then 3 and 2 times at lower caps.
    return (TokenStep(first, 4), TokenStep(second, 3), TokenStep(third, 2))


_LONG = _ladder(16000, 12000, 8000)
_SHORT = _ladder(4000, 3000, 2000)
_JUDGED = _ladder(16384, 12288, 8192)

_BENCHMARKS = [
    Benchmark(
        id="aime2025",
        name="American Invitational Mathematics Examination (AIME) 2025",
        weight=0.226536549919078,
        dataset="math-ai/aime25 (test)",
        revision="563bb8404243c5f09de6ec262f2db674fe5bce9b",
        n_test=30,
        dev_limit=None,
        max_connections=6,
        gpu_memory_utilization=0.8,
        ladder=_LONG,
    ),
    Benchmark(
        id="arenahardwriting",
        name="Arena-Hard-v2.0 (Writing)",
        weight=0.0903518275042778,
        dataset="Arena-Hard v2.0 creative_writing questions (250) with Qwen3-1.7B reference answers",
        revision=None,
        n_test=250,
        dev_limit=32,
        max_connections=1,
        gpu_memory_utilization=0.9,
        ladder=_JUDGED,
    ),
    Benchmark(
        id="bfcl",
        name="Berkeley Function Calling Leaderboard (BFCL)",
        weight=0.0746078457817324,
        dataset="gorilla-llm/Berkeley-Function-Calling-Leaderboard (exec_simple, train)",
        revision="1bf8bbc3c0e35d04d00339c223a3fd653aa195ac",
        n_test=100,
        dev_limit=None,
        max_connections=6,
        gpu_memory_utilization=0.8,
        ladder=_LONG,
        training_note="The exec_simple split is the test set: training on it is contamination.",
    ),
    Benchmark(
        id="gpqamain",
        name="GPQA",
        weight=0.22462215653948,
        dataset="Idavidrein/gpqa (gpqa_main, train)",
        revision=None,
        n_test=448,
        dev_limit=50,
        max_connections=6,
        gpu_memory_utilization=0.8,
        ladder=_LONG,
    ),
    Benchmark(
        id="gsm8k",
        name="GSM8K (Grade School Math 8K)",
        weight=0.0935882347031865,
        dataset="openai/gsm8k (main, test; 10 few-shot examples from train)",
        revision="cc7b047b6e5bb11b4f1af84efc572db110a51b3c",
        n_test=1319,
        dev_limit=150,
        max_connections=2,
        gpu_memory_utilization=0.3,
        ladder=_SHORT,
        training_note="The GSM8K train split may be used for training; the test split may not.",
    ),
    Benchmark(
        id="healthbench",
        name="HealthBench",
        weight=0.184144830733019,
        dataset="HealthBench Easy: 245 conversations with rubrics (>=5 turns, a completeness rubric, <=2 negative criteria)",
        revision=None,
        n_test=245,
        dev_limit=32,
        max_connections=1,
        gpu_memory_utilization=0.9,
        ladder=_JUDGED,
    ),
    Benchmark(
        id="humaneval",
        name="HumanEval",
        weight=0.106148554819225,
        dataset="openai/openai_humaneval (test)",
        revision="7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544",
        n_test=164,
        dev_limit=150,
        max_connections=1,
        gpu_memory_utilization=0.3,
        ladder=_SHORT,
    ),
]

for _benchmark in _BENCHMARKS:
    registry.register(KIND, _benchmark.id, _benchmark)


def get_benchmark(benchmark_id: str) -> Benchmark:
    """The catalog entry for ``benchmark_id`` (one-line error listing the known ids otherwise)."""
    return registry.lookup(KIND, benchmark_id)  # type: ignore[no-any-return]


def all_benchmarks() -> list[Benchmark]:
    return [get_benchmark(name) for name in registry.names(KIND)]
