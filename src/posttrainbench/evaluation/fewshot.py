"""Few-shot prompting of base models: the reference row "base models, few-shot" of the leaderboard.

The paper reports a few-shot baseline (base models without a chat template, few-shot prompting, temperature
0.6, top-p 0.95) but the original code never implemented it and names no shots. This is this project's
protocol, documented so that its numbers can be reproduced, not a copy of the paper's:

- **No chat template.** Prompts are plain text: the system text (if any) as it is, then each turn as a
  ``User:`` or ``Assistant:`` paragraph, ending in ``Assistant:`` (``catalog/templates/plain.jinja``).
  No special tokens: a base model reads it as ordinary text. Generation stops at the next ``User:`` line.
- **Shots** are earlier exchanges of the same task, inserted before the first turn of every sample, in the
  same prompt format as the sample itself. Each benchmark states where its shots come from
  (``Benchmark.shots``): a split disjoint from the test set where the dataset has one (GSM8K train,
  AIME 2024 for AIME 2025, GPQA extended minus main), otherwise a few exchanges written for this project
  (``benchmarks/shots/<id>.json``). Shots never appear in the scored transcript: they are added to the
  model's input for each generation and removed again, so scorers and judges see the sample as it is.
- **Sampling**: temperature 0.6 and top-p 0.95 for every model, instead of its ``generation_config.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

SAMPLING = {"temperature": 0.6, "top_p": 0.95, "top_k": None, "source": "few-shot protocol"}
STOP_SEQS = ["\nUser:"]
"""The plain template starts every user turn on a new line with ``User:``; a base model that goes on to
write the next question stops there."""


@dataclass(frozen=True)
class Shot:
    """One solved example: the user's turn and the assistant's answer, formatted as the task's samples are."""

    user: str
    assistant: str


@dataclass(frozen=True)
class Shots:
    items: list[Shot]
    source: str
    """Where the shots come from, recorded in the metrics."""


def plain_template() -> str:
    return resources.files("posttrainbench.catalog").joinpath("templates/plain.jinja").read_text()


def written_shots(benchmark_id: str, to_shot: Callable[[dict[str, Any]], Shot] | None = None) -> Shots:
    """The examples written for this project for a benchmark without a split to draw shots from
    (``benchmarks/shots/<id>.json``); ``to_shot`` words an item as the benchmark words its samples (by
    default its ``user`` and ``assistant`` texts as they are)."""
    text = resources.files("posttrainbench.evaluation.benchmarks").joinpath(f"shots/{benchmark_id}.json").read_text()
    document = json.loads(text)
    to_shot = to_shot or (lambda item: Shot(item["user"], item["assistant"]))
    return Shots([to_shot(item) for item in document["shots"]], document["source"])


def with_shots(inner: Any, shots: list[Shot]) -> Any:
    """A solver that runs ``inner`` with every generation seeing ``shots`` before the sample's first turn."""
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
    from inspect_ai.solver import solver

    @solver(name="with_shots")
    def wrap() -> Any:
        async def solve(state: Any, generate: Any) -> Any:
            async def generate_with_shots(state: Any, *args: Any, **kwargs: Any) -> Any:
                start = next((i for i, m in enumerate(state.messages) if m.role != "system"), len(state.messages))
                exchange = [message for shot in shots
                            for message in (ChatMessageUser(content=shot.user), ChatMessageAssistant(content=shot.assistant))]
                state.messages[start:start] = exchange
                try:
                    state = await generate(state, *args, **kwargs)
                finally:
                    del state.messages[start:start + len(exchange)]
                return state

            return await inner(state, generate_with_shots)

        return solve

    return wrap()
